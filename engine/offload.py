"""Block offload: the DiT's blocks wait off the compute device and visit it a group at a time.

Modelled on diffusers' group offloading (and the reference's ``apply_group_offload``): the
blocks are cut into groups of ``group_size``; a forward pre-hook on each group's first block
makes that group resident (waiting for its prefetch), drops the previous group and starts
bringing the next one (the last group prefetches the first, for the next call). So at any
moment at most two groups are on the device: the one computing and the one arriving.

Where the blocks wait (``store``):

- ``"host"``: CPU memory, pinned when the device is a GPU (page-locked memory is what lets
  the copy run asynchronously); the copies run on a side CUDA stream, and each arriving
  tensor is recorded on the compute stream so that its memory is not reused while a kernel
  still reads it. On a CPU-only torch there is neither pinning nor streams: both are guarded.
- ``"disk"``: one safetensors file per group in a folder; read back when the group is
  needed. Slow, for machines short of RAM (and the CPU test, where the compute device is the
  host: only with the weights elsewhere can what is resident be counted).

An absent group's parameters point at empty placeholders (no elements), so the memory the
device holds for the blocks is exactly the resident groups'.

Weights never change during inference, so dropping a group just points its parameters back
at a placeholder; nothing is copied back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

STORES = ("host", "disk")


class BlockOffload:
    """Install with :meth:`install`; :meth:`remove` puts every block back on the device."""

    def __init__(
        self,
        blocks: Sequence[nn.Module],
        device: torch.device | str,
        group_size: int = 2,
        store: str = "host",
        folder: str | Path | None = None,
    ):
        if store not in STORES:
            raise ValueError(f"store must be one of {', '.join(STORES)}, got {store!r}")
        if store == "disk" and folder is None:
            raise ValueError("a disk store needs a folder")
        if group_size < 1:
            raise ValueError(f"group_size must be at least 1, got {group_size}")
        self.device = torch.device(device)
        self.groups = [list(blocks[i : i + group_size]) for i in range(0, len(blocks), group_size)]
        self.store = store
        self.folder = Path(folder) if folder is not None else None
        self.cuda = self.device.type == "cuda" and torch.cuda.is_available()
        self.stream = torch.cuda.Stream(self.device) if self.cuda else None
        self.home: list[dict[nn.Parameter, torch.Tensor]] = []  # group -> parameter -> where it waits
        self.resident: set[int] = set()
        self.handles: list = []

    # -- setup ------------------------------------------------------------------------------

    def install(self) -> BlockOffload:
        for index, group in enumerate(self.groups):
            params = _parameters(group)
            if self.store == "disk":
                self.home.append(self._write_group(index, params))
            else:
                self.home.append({p: self._host_copy(p.data) for p in params})
            for p in params:
                p.data = _placeholder(p.data)
            self.handles.append(group[0].register_forward_pre_hook(self._make_hook(index)))
        self._load(0)
        self._wait(0)
        return self

    def remove(self) -> None:
        """Undo :meth:`install`: every block resident on the device again, hooks removed."""
        for handle in self.handles:
            handle.remove()
        self.handles.clear()
        for index in range(len(self.groups)):
            if index not in self.resident:
                self._load(index)
                self._wait(index)

    def _host_copy(self, tensor: torch.Tensor) -> torch.Tensor:
        """Where a parameter waits: the tensor itself when it is already in host memory (no
        copy), pinned when the device is a GPU (pin_memory() raises on a CPU-only torch)."""
        host = tensor.detach().to("cpu")
        return host.pin_memory() if self.cuda else host

    def _write_group(self, index: int, params: list[nn.Parameter]) -> dict[nn.Parameter, str]:
        from safetensors.torch import save_file

        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"group_{index:03d}.safetensors"
        save_file({str(i): p.detach().to("cpu").contiguous() for i, p in enumerate(params)}, str(path))
        return {p: (path, str(i)) for i, p in enumerate(params)}

    # -- moving groups ----------------------------------------------------------------------

    def _make_hook(self, index: int):
        def hook(module, args):
            if index not in self.resident:  # the first call, or after remove(): load it now
                self._load(index)
            self._wait(index)
            previous, following = (index - 1) % len(self.groups), (index + 1) % len(self.groups)
            if previous != index:
                self._drop(previous)
            if following not in self.resident:
                self._load(following)
            return None

        return hook

    def _load(self, index: int) -> None:
        """Start bringing group ``index`` to the device (asynchronously on a GPU)."""
        home = self.home[index]
        if self.store == "disk":
            from safetensors import safe_open

            by_file: dict = {}
            for param, (path, key) in home.items():
                by_file.setdefault(path, []).append((param, key))
            for path, entries in by_file.items():
                with safe_open(path, framework="pt", device=str(self.device)) as f:
                    for param, key in entries:
                        param.data = f.get_tensor(key)
        elif self.cuda:
            with torch.cuda.stream(self.stream):
                for param, host in home.items():
                    param.data = host.to(self.device, non_blocking=True)
        else:
            for param, host in home.items():
                param.data = host if host.device == self.device else host.to(self.device)
        self.resident.add(index)

    def _wait(self, index: int) -> None:
        """Make the compute stream wait for group ``index``'s copies and own their memory."""
        if self.cuda:
            current = torch.cuda.current_stream(self.device)
            current.wait_stream(self.stream)
            for param in self.home[index]:
                param.data.record_stream(current)

    def _drop(self, index: int) -> None:
        if index not in self.resident:
            return
        for param in self.home[index]:
            param.data = _placeholder(param.data)
        self.resident.discard(index)


def _placeholder(tensor: torch.Tensor) -> torch.Tensor:
    """What an absent parameter points at: no elements, same dtype and device (a parameter's
    data cannot change device type, so a meta tensor will not do)."""
    return torch.empty(0, dtype=tensor.dtype, device=tensor.device)


def _parameters(modules: Sequence[nn.Module]) -> list[nn.Parameter]:
    seen, params = set(), []
    for module in modules:
        for p in module.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                params.append(p)
    return params


def offload_blocks(model: nn.Module, device, group_size: int = 2, store: str = "host", folder=None) -> BlockOffload:
    """Block offload over a WanAVModel's blocks in the order its forward runs them."""
    blocks = [*model.double_blocks, *model.single_blocks]
    return BlockOffload(blocks, device, group_size, store, folder).install()
