"""The tensors of a torch zip checkpoint (``.pth``/``.ckpt``/``.pt``), listed without unpickling it.

``torch.save`` writes a zip: ``<name>/data.pkl`` (the pickled structure, tensors as
persistent references to storages) and one ``<name>/data/<key>`` entry per storage. This
walks ``data.pkl`` with an unpickler that builds only plain containers, numbers, strings and
tensor descriptions: any other class the pickle names (code that would run on load) stops
it with :class:`UnsafePickle` — the file is refused, never executed. The storages' bytes
are never read; their sizes come from the zip's directory.
"""

from __future__ import annotations

import collections
import io
import math
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

from engine.errors import WeightsError

# torch's storage classes by the safetensors dtype name they hold
STORAGE_DTYPES = {
    "FloatStorage": ("F32", 4), "DoubleStorage": ("F64", 8), "HalfStorage": ("F16", 2),
    "BFloat16Storage": ("BF16", 2), "Float8_e4m3fnStorage": ("F8_E4M3", 1), "Float8_e5m2Storage": ("F8_E5M2", 1),
    "LongStorage": ("I64", 8), "IntStorage": ("I32", 4), "ShortStorage": ("I16", 2), "CharStorage": ("I8", 1),
    "ByteStorage": ("U8", 1), "BoolStorage": ("BOOL", 1),
}  # fmt: skip
# torch dtypes by name, as ``_rebuild_tensor_v3`` names them next to an untyped (byte) storage
TORCH_DTYPES = {
    "float32": ("F32", 4), "float64": ("F64", 8), "float16": ("F16", 2), "bfloat16": ("BF16", 2),
    "float8_e4m3fn": ("F8_E4M3", 1), "float8_e5m2": ("F8_E5M2", 1), "int64": ("I64", 8), "int32": ("I32", 4),
    "int16": ("I16", 2), "int8": ("I8", 1), "uint8": ("U8", 1), "bool": ("BOOL", 1),
}  # fmt: skip
REBUILDERS = {"_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3", "_rebuild_parameter",
              "_rebuild_parameter_with_state"}  # fmt: skip


class UnsafePickle(WeightsError):
    """The pickle names a class or function beyond plain data and tensors."""


@dataclass(frozen=True)
class StorageRef:
    key: str
    dtype: str
    itemsize: int
    numel: int


@dataclass(frozen=True)
class TensorInfo:
    dtype: str
    shape: tuple[int, ...]
    storage: StorageRef

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.storage.itemsize


@dataclass
class PickleContents:
    path: Path
    root: object  # the unpickled structure, tensors as TensorInfo
    storage_bytes: dict[str, int]  # key -> bytes present in the zip
    expected_bytes: dict[str, int]  # key -> bytes the pickle says the storage has

    def state_dict(self) -> dict[str, TensorInfo] | None:
        """``root`` or ``root['state_dict']`` when it maps names to tensors, else None."""
        root = self.root
        if isinstance(root, dict) and isinstance(root.get("state_dict"), dict):
            root = root["state_dict"]
        if isinstance(root, dict) and root and all(isinstance(v, TensorInfo) for v in root.values()):
            return root
        return None

    def short_storages(self) -> list[tuple[str, int, int]]:
        """(key, expected, present) for storages with fewer bytes than the pickle says."""
        return [(k, n, self.storage_bytes.get(k, 0)) for k, n in self.expected_bytes.items()
                if self.storage_bytes.get(k, 0) < n]  # fmt: skip


class _DescribingUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, path: Path):
        super().__init__(io.BytesIO(data))
        self.path = path
        self.storages: dict[str, StorageRef] = {}

    def find_class(self, module: str, name: str):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in REBUILDERS:
            return _rebuild
        if module == "torch" and name in STORAGE_DTYPES:
            return STORAGE_DTYPES[name]
        if module == "torch.storage" and name == "UntypedStorage":
            return ("U8", 1)
        if module == "torch" and name in TORCH_DTYPES:
            return _Dtype(*TORCH_DTYPES[name])
        if module == "torch" and name == "Size":
            return tuple
        raise UnsafePickle(
            f"{self.path} is not a weights-only checkpoint: its pickle names {module}.{name}",
            hint="refused without running it; download the released file again",
        )

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage" and len(pid) == 5):
            raise UnsafePickle(f"{self.path}: unknown persistent reference {pid!r} in its pickle")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, tuple):
            raise UnsafePickle(f"{self.path}: unknown storage type {storage_type!r} in its pickle")
        dtype, itemsize = storage_type
        ref = StorageRef(str(key), dtype, itemsize, int(numel))
        self.storages[ref.key] = ref
        return ref


@dataclass(frozen=True)
class _Dtype:
    name: str
    itemsize: int


def _rebuild(storage, offset=0, size=(), *args, **kwargs):
    if isinstance(storage, TensorInfo):  # _rebuild_parameter(data, requires_grad, hooks)
        return storage
    if not isinstance(storage, StorageRef):
        raise UnsafePickle(f"a tensor rebuilt from {type(storage).__name__}, not a storage")
    dtype = next((a for a in args if isinstance(a, _Dtype)), None)  # _rebuild_tensor_v3: bytes + a dtype
    if dtype is not None:
        storage = StorageRef(storage.key, dtype.name, dtype.itemsize, storage.numel * storage.itemsize // dtype.itemsize)
    return TensorInfo(storage.dtype, tuple(size), storage)


def read_pickle(path: str | Path) -> PickleContents:
    """The structure of a torch zip checkpoint, tensors described, nothing executed."""
    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        with path.open("rb") as f:
            magic = f.read(2)
        if magic == b"\x80\x02":  # torch's pre-1.6 format: a bare pickle stream
            raise WeightsError(f"{path} is a legacy (non-zip) torch file: it cannot be checked without loading it",
                               hint="re-save it with torch.save (zip format), or download the released file") from exc
        raise WeightsError(
            f"{path} is not a complete torch checkpoint ({path.stat().st_size} bytes, no zip directory: truncated?)",
            hint="download it again",
        ) from exc
    with archive:
        names = archive.namelist()
        pkl = next((n for n in names if n.endswith("/data.pkl") or n == "data.pkl"), None)
        if pkl is None:
            raise WeightsError(f"{path} is a zip but not a torch checkpoint (no data.pkl)")
        prefix = pkl[: -len("data.pkl")]
        unpickler = _DescribingUnpickler(archive.read(pkl), path)
        try:
            root = unpickler.load()
        except UnsafePickle:
            raise
        except Exception as exc:
            raise WeightsError(f"{path}: its pickle cannot be read ({exc})", hint="download it again") from exc
        present = {
            info.filename[len(prefix) + len("data/") :]: info.file_size
            for info in archive.infolist()
            if info.filename.startswith(prefix + "data/")
        }
    expected = {k: ref.numel * ref.itemsize for k, ref in unpickler.storages.items()}
    return PickleContents(path, root, present, expected)


def read_tensor(contents: PickleContents, info: TensorInfo):
    """One tensor's values, read from its storage's zip entry alone (offset 0, contiguous:
    how ``torch.save`` writes a state dict's tensors)."""
    import torch

    from engine.safetensors_header import TORCH_DTYPE_NAMES

    dtype = getattr(torch, TORCH_DTYPE_NAMES[info.dtype])
    with zipfile.ZipFile(contents.path) as archive:
        name = next(n for n in archive.namelist() if n.endswith(f"/data/{info.storage.key}"))
        buffer = bytearray(archive.read(name))
    count = math.prod(info.shape)
    return torch.frombuffer(buffer, dtype=dtype, count=count).reshape(info.shape)
