"""``nava-director weights download``: the released NAVA files, then the ReDimNet checkpoint.

The release is one Hugging Face repo (default ``ernie-research/NAVA``, the reference's model
page; the ``weights_repo`` setting changes it), fetched with ``huggingface_hub.snapshot_download``
into the folder, in its own layout (``engine.component_files``): only the files the engine
reads, with the bf16 DiT (``NAVA.safetensors``, 25 GB) or, with ``fp8``, the fp8 one
(``NAVA_fp8.safetensors``, 7 GB). The hub resumes interrupted files itself.

ReDimNet is not in the release: the reference calls ``torch.hub.load("IDRnD/ReDimNet",
"ReDimNet", model_name="M", train_type="ft_mix", dataset="vb2+vox2+cnc")``, whose hubconf
downloads ``{model_name}-{dataset}-{train_type}.pt`` from the repo's ``latest`` release. We
fetch that URL into the folder ourselves (no code from the hub repo is run), resuming a
partial download with an HTTP range request.

At the end the folder is checked (``engine.weights_check``) and the report returned.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from nava_director.errors import InputError, NavaError

REPO_ID = "ernie-research/NAVA"
REDIMNET_URL = "https://github.com/IDRnD/ReDimNet/releases/download/latest/{model_name}-{dataset}-{train_type}.pt"
REDIMNET = {"model_name": "M", "dataset": "vb2+vox2+cnc", "train_type": "ft_mix"}  # the reference's torch.hub call
COMMON_FILES = [
    "Wan2.2-TI2V-5B/Wan2.2_VAE.pth",
    "Wan2.2-TI2V-5B/models_t5_umt5-xxl-enc-bf16.pth",
    "Wan2.2-TI2V-5B/google/umt5-xxl/*",
    "params/LTX2/*",
]
CHUNK = 1 << 20

# progress(description, done_bytes, total_bytes or None)
Progress = Callable[[str, int, "int | None"], None]


def redimnet_url(model_name: str = "M", dataset: str = "vb2+vox2+cnc", train_type: str = "ft_mix") -> str:
    """The URL torch.hub's ``IDRnD/ReDimNet`` hubconf downloads for these arguments."""
    return REDIMNET_URL.format(model_name=model_name, dataset=dataset, train_type=train_type)


def redimnet_file() -> str:
    return redimnet_url(**REDIMNET).rsplit("/", 1)[1]  # what torch.hub names it in its cache


def allow_patterns(fp8: bool) -> list[str]:
    """The repo files to fetch: the components, and one DiT file."""
    return [*COMMON_FILES, "NAVA_fp8.safetensors"] if fp8 else [*COMMON_FILES, "NAVA.safetensors"]


def download(
    folder: str | Path,
    *,
    repo_id: str = REPO_ID,
    fp8: bool = False,
    endpoint: str | None = None,
    redimnet: str | None = None,
    progress: Progress | None = None,
):
    """Fetch the release into ``folder`` and check it; returns the ``engine.weights_check.Report``.

    ``endpoint``: the hub's address (default ``$HF_ENDPOINT``, else huggingface.co);
    ``redimnet``: the ReDimNet URL (default :func:`redimnet_url` of the reference's model).
    Raises :class:`NavaError` (exit 2) with one line when the hub or GitHub is not reachable.
    """
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    _snapshot(folder, repo_id, fp8, endpoint)
    fetch_file(redimnet or redimnet_url(**REDIMNET), folder / redimnet_file(), progress=progress)
    from engine.weights_check import check

    return check(folder, dit="fp8" if fp8 else "bf16", hub_dir=folder)


def _snapshot(folder: Path, repo_id: str, fp8: bool, endpoint: str) -> None:
    from huggingface_hub import snapshot_download

    try:
        snapshot_download(repo_id, local_dir=folder, allow_patterns=allow_patterns(fp8), endpoint=endpoint,
                          tqdm_class=_rich_tqdm())  # fmt: skip
    except Exception as exc:  # hub errors come from httpx, huggingface_hub and the OS alike
        raise _unreachable(exc, f"the Hugging Face hub ({endpoint}) for {repo_id}", folder) from None


def _unreachable(exc: Exception, what: str, folder: Path) -> NavaError:
    """One line for what went wrong talking to ``what``, with what to do."""
    import httpx
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    if isinstance(exc, GatedRepoError):
        return InputError(f"{what} is gated", hint="accept its terms on the model page, then log in: hf auth login")
    if isinstance(exc, RepositoryNotFoundError):
        return InputError(f"{what}: no such repository (or it is private)", hint="check the weights_repo setting")
    if isinstance(exc, (httpx.TransportError, LocalEntryNotFoundError, OSError)):
        return InputError(
            f"{what} is not reachable ({type(exc).__name__})",
            hint=f"connect to the internet (or set HF_ENDPOINT to a mirror) and run it again: it resumes; "
            f"or download on another machine and copy the folder to {folder}",
        )
    if isinstance(exc, (HfHubHTTPError, httpx.HTTPStatusError)):
        status = getattr(getattr(exc, "response", None), "status_code", "?")
        return InputError(f"{what} refused the download (HTTP {status})", hint="run it again later: it resumes")
    return NavaError(f"downloading from {what} failed: {exc}", exit_code=2)


def fetch_file(url: str, target: Path, *, progress: Progress | None = None, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``target`` (``target.partial`` while it runs), resuming a partial file
    with a range request; a complete ``target`` is left alone."""
    import httpx

    if target.is_file():
        return target
    partial = target.with_name(target.name + ".partial")
    have = partial.stat().st_size if partial.is_file() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        with httpx.stream("GET", url, headers=headers, follow_redirects=True, timeout=timeout) as response:
            if response.status_code == 416:  # the partial file is already whole
                partial.replace(target)
                return target
            response.raise_for_status()
            resumed = response.status_code == 206
            length = response.headers.get("content-length")
            total = (have if resumed else 0) + int(length) if length is not None else None
            done = have if resumed else 0
            with partial.open("ab" if resumed else "wb") as f:
                for chunk in response.iter_bytes(CHUNK):
                    f.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(target.name, done, total)
    except (httpx.HTTPError, OSError) as exc:
        raise _unreachable(exc, url, target.parent) from None
    partial.replace(target)
    return target


def _rich_tqdm():
    """tqdm's rich front end for the hub's per-file bars (plain tqdm where it is missing)."""
    try:
        import warnings

        from tqdm import TqdmExperimentalWarning
        from tqdm.rich import tqdm

        warnings.filterwarnings("ignore", category=TqdmExperimentalWarning)
        return tqdm
    except ImportError:
        return None
