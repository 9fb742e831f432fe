"""`nava-director review`: a local page where the director watches every take and picks one.

- ``adapter.py``  the only module that reaches the project library (status, pick, lock, render)
- ``media.py``    which files of the project folder may be served, resolved safely
- ``jobs.py``     new takes rendered one after another in a worker thread, with their progress
- ``app.py``      the Starlette app: the page, the JSON API, the media, the token
- ``server.py``   uvicorn on 127.0.0.1, the URL with its token, the browser
- ``static/``     the page: plain HTML, CSS and JS
"""
