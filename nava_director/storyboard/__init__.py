"""The storyboard: its model, loading with positions, its rules, casting, the render plan."""
