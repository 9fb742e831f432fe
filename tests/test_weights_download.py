"""`weights download`'s parts that need no hub: patterns, the ReDimNet URL, resumable fetch, offline failure."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nava_director.errors import InputError
from nava_director.weights.download import allow_patterns, download, fetch_file, redimnet_file, redimnet_url


def test_the_redimnet_url_is_what_torch_hubs_hubconf_builds():
    """IDRnD/ReDimNet hubconf: URL_TEMPLATE.format(model_name=f'{model_name}-{dataset}-{train_type}.pt')."""
    assert redimnet_url() == "https://github.com/IDRnD/ReDimNet/releases/download/latest/M-vb2+vox2+cnc-ft_mix.pt"
    assert redimnet_file() == "M-vb2+vox2+cnc-ft_mix.pt"  # torch.hub names the cached file after the URL's path
    assert redimnet_url("b2", "vox2", "ptn").endswith("/b2-vox2-ptn.pt")


def test_one_dit_file_is_fetched_with_the_components():
    import fnmatch

    release = ["NAVA.safetensors", "NAVA_fp8.safetensors", "nava.yaml", "config.json", "example_prompts.jsonl",
               "Wan2.2-TI2V-5B/Wan2.2_VAE.pth", "Wan2.2-TI2V-5B/models_t5_umt5-xxl-enc-bf16.pth",
               "Wan2.2-TI2V-5B/google/umt5-xxl/spiece.model", "Wan2.2-TI2V-5B/google/umt5-xxl/tokenizer.json",
               "params/LTX2/ltx-2.3-22b-dev_audio_vae.safetensors", "params/LTX2/LICENSE"]  # fmt: skip

    def fetched(fp8):
        return {f for f in release if any(fnmatch.fnmatch(f, p) for p in allow_patterns(fp8))}

    common = {f for f in release if f.startswith(("Wan2.2", "params/"))}
    assert fetched(False) == common | {"NAVA.safetensors"}
    assert fetched(True) == common | {"NAVA_fp8.safetensors"}


PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class RangeHandler(BaseHTTPRequestHandler):
    payload = PAYLOAD
    requests: list = []

    def do_GET(self):  # noqa: N802
        if self.path.endswith("/missing.pt"):
            self.send_error(404)
            return
        start = 0
        if "Range" in self.headers:
            start = int(self.headers["Range"].split("=")[1].split("-")[0])
        RangeHandler.requests.append(start)
        body = self.payload[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), RangeHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    RangeHandler.requests, RangeHandler.payload = [], PAYLOAD
    yield f"http://127.0.0.1:{httpd.server_address[1]}/M.pt"
    httpd.shutdown()


def test_a_partial_download_resumes_where_it_stopped(server, tmp_path):
    target = tmp_path / "M.pt"
    (tmp_path / "M.pt.partial").write_bytes(RangeHandler.payload[:300_000])
    seen = []
    fetch_file(server, target, progress=lambda name, done, total: seen.append((done, total)))
    assert target.read_bytes() == RangeHandler.payload and not (tmp_path / "M.pt.partial").exists()
    assert RangeHandler.requests == [300_000]  # only the rest was asked for
    assert seen[-1] == (len(RangeHandler.payload), len(RangeHandler.payload))
    fetch_file(server, target)  # complete: left alone, nothing asked
    assert RangeHandler.requests == [300_000]
    with pytest.raises(InputError, match=r"refused the download \(HTTP 404\)"):
        fetch_file(server.replace("M.pt", "missing.pt"), tmp_path / "missing.pt")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends


def test_an_unreachable_hub_is_one_input_error(tmp_path):
    port = _closed_port()
    with pytest.raises(InputError) as caught:
        download(tmp_path / "W", endpoint=f"http://127.0.0.1:{port}")
    assert caught.value.exit_code == 2
    assert "is not reachable" in caught.value.message and f"127.0.0.1:{port}" in caught.value.message
    assert "\n" not in caught.value.message and "resumes" in caught.value.hint
    with pytest.raises(InputError, match="is not reachable"):
        fetch_file(f"http://127.0.0.1:{port}/M.pt", tmp_path / "M.pt")


def test_download_lands_the_release_layout_and_checks_it(tmp_path, monkeypatch, server):
    """The hub's part stood in for (its protocol is huggingface_hub's to test): it is asked for
    the patterns and writes the release layout into the folder; ReDimNet comes over HTTP
    (the range server standing in for GitHub); the report checks what landed."""
    import fnmatch
    import shutil

    import huggingface_hub

    from engine.make_tiny_weights import make_tiny_weights

    release = make_tiny_weights(tmp_path / "hub-repo", fp8=True, hub_dir=tmp_path / "elsewhere")
    speaker = (tmp_path / "elsewhere" / "M-vb2+vox2+cnc-ft_mix.pt").read_bytes()
    RangeHandler.payload = speaker
    asked = {}

    def snapshot(repo_id, *, local_dir, allow_patterns, endpoint, **kwargs):
        asked.update(repo_id=repo_id, endpoint=endpoint, patterns=allow_patterns)
        for file in release.rglob("*"):
            name = file.relative_to(release).as_posix()
            if file.is_file() and any(fnmatch.fnmatch(name, p) for p in allow_patterns):
                (local_dir / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(file, local_dir / name)
        return str(local_dir)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    target = tmp_path / "W"
    report = download(target, fp8=True, endpoint="http://hub.invalid", redimnet=server)
    assert asked["repo_id"] == "ernie-research/NAVA" and asked["endpoint"] == "http://hub.invalid"
    assert report.ok, report.problems()
    assert (target / "NAVA_fp8.safetensors").is_file() and not (target / "NAVA.safetensors").exists()
    assert (target / "params" / "LTX2" / "ltx-2.3-22b-dev_audio_vae.safetensors").is_file()
    assert (target / "M-vb2+vox2+cnc-ft_mix.pt").read_bytes() == speaker
    assert report.rows[0].path.endswith("NAVA_fp8.safetensors") and not (tmp_path / "torch").exists()
