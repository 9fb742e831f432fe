"""Every setting is checked by one rule whatever its source (flag, environment, nava.toml, user
config), before anything is written: a bad value is one line naming the file and its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from nava_director.errors import InputError
from nava_director.settings import check_paths, load_settings

TOML = {  # nava.toml text -> what the one line says after "nava.toml:LINE: "
    "size = [160]\n": "size [160] is not [WIDTH, HEIGHT]",
    "size = [160, 90.5]\n": "size [160, 90.5] is not [WIDTH, HEIGHT]",
    "size = [100000, 100000]\n": "must be even and 16 to 4096 pixels a side",
    'size = "161x90"\n': "must be even",
    "size = 640\n": "size 640 is not WIDTHxHEIGHT",
    "weights = 5\n": "weights 5 is not a path",
    'weights = ""\n': "weights '' is not a path",
    "out = 5\n": "out 5 is not a path",
    "out = [\"a\"]\n": "out ['a'] is not a path",
    "guidance = {s_x = 3}\n": "guidance has no scale 's_x'",
    "guidance = {s_v = -1}\n": "guidance s_v = -1 is not a number from 0 to 30",
    "guidance = {s_v = nan}\n": "guidance s_v = nan is not a number",
    "guidance = 3\n": "guidance 3 is not a table",
    "negative_prompt = 5\n": "negative_prompt 5 is not text",
    "negative_prompt = [\"a\"]\n": "negative_prompt ['a'] is not text",
    "engine = 5\n": "engine 5 is not text",
    'engine = "gpu"\n': "engine 'gpu' is not one of auto, nava, animatic",
    'rewriter = "gpt"\n': "rewriter 'gpt' is not one of",
    "vllm_url = 8000\n": "vllm_url 8000 is not text",
    'vllm_url = "localhost:8000"\n': "is not an http(s) URL",
    "vllm_model = true\n": "vllm_model True is not text",
    'crf = "18"\n': "crf '18' is not a whole number from 0 to 51",
    "crf = 18.5\n": "crf 18.5 is not a whole number",
    "burn_subtitles = 1\n": "burn_subtitles 1 is not true or false",
    "loudness = inf\n": "loudness inf is not a number of LUFS",
    'loudness = "loud"\n': "loudness 'loud' is not a number of LUFS",
    "sizes = \"1x1\"\n": "unknown setting(s) sizes",
}


@pytest.mark.parametrize("text", list(TOML))
def test_a_bad_nava_toml_value_is_one_line_at_its_line(tmp_path, text):
    (tmp_path / "nava.toml").write_text("# settings\n\n# the one under test:\n" + text, encoding="utf-8")
    with pytest.raises(InputError) as refused:
        load_settings(tmp_path / "sb.yaml", {}, env={}, user_config=tmp_path / "none.toml")
    assert refused.value.message.startswith(f"{tmp_path / 'nava.toml'}:4: "), refused.value.message
    assert TOML[text] in refused.value.message and "\n" not in refused.value.message


def test_the_user_config_is_held_to_the_same_rules(tmp_path):
    (tmp_path / "user.toml").write_text("crf = 18\nsize = [160]\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"user.toml:2: size \[160\] is not \[WIDTH, HEIGHT\]"):
        load_settings(tmp_path / "sb.yaml", {}, env={}, user_config=tmp_path / "user.toml")


@pytest.mark.parametrize("flags, said", [
    ({"size": "160"}, "--size: size '160' is not WIDTHxHEIGHT"),
    ({"size": "100000x100000"}, "--size: size '100000x100000' must be even and 16 to 4096"),
    ({"engine": "gpu"}, "--engine: engine 'gpu' is not one of"),
    ({"vllm_url": "ftp://x"}, "--vllm-url: vllm_url 'ftp://x' is not an http(s) URL"),
    ({"crf": -1}, "--crf: crf -1 is not a whole number from 0 to 51"),
])
def test_flags_are_held_to_the_same_rules(flags, said):
    with pytest.raises(InputError) as refused:
        load_settings(None, flags, env={})
    assert refused.value.message.startswith(said)


def test_the_environment_is_held_to_the_same_rules(tmp_path):
    with pytest.raises(InputError, match="env NAVA_VLLM_URL: vllm_url 'nope' is not an http"):
        load_settings(None, {}, env={"NAVA_VLLM_URL": "nope"})
    settings = load_settings(None, {}, env={"NAVA_WEIGHTS": str(tmp_path / "nope")})
    with pytest.raises(InputError, match="env NAVA_WEIGHTS: weights .* do not exist"):
        check_paths(settings)


def test_binary_and_non_file_settings_are_one_line(tmp_path):
    (tmp_path / "nava.toml").write_bytes(b"crf = 18\n\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    with pytest.raises(InputError, match=r"nava.toml:2: not UTF-8 text"):
        load_settings(tmp_path / "sb.yaml", {}, env={}, user_config=tmp_path / "none.toml")
    (tmp_path / "nava.toml").write_bytes(b"crf = 18\n\x00\x01\x02")
    with pytest.raises(InputError, match=r"nava.toml:2:1: "):
        load_settings(tmp_path / "sb.yaml", {}, env={}, user_config=tmp_path / "none.toml")
    (tmp_path / "nava.toml").unlink()
    (tmp_path / "nava.toml").mkdir()
    with pytest.raises(InputError, match=r"nava.toml: is not a file"):
        load_settings(tmp_path / "sb.yaml", {}, env={}, user_config=tmp_path / "none.toml")


def test_paths_that_a_run_needs_are_checked_where_they_are_set(tmp_path):
    (tmp_path / "nava.toml").write_text('out = "film.mp4"\nweights = "w"\n', encoding="utf-8")
    (tmp_path / "film.mp4").write_bytes(b"")
    (tmp_path / "w").mkdir()
    settings = load_settings(tmp_path / "sb.yaml", {}, env={}, user_config=tmp_path / "none.toml")
    with pytest.raises(InputError, match=r"nava.toml:1: out .* is a file, not a folder"):
        check_paths(settings)
    settings = load_settings(tmp_path / "sb.yaml", {"out": str(tmp_path / "p"), "weights": "/nope"}, env={})
    with pytest.raises(InputError, match=r"--weights: weights '/nope' do not exist"):
        check_paths(settings)
    assert Path(tmp_path / "p").exists() is False


def test_a_weights_folder_without_the_weights_is_an_input_error_said_once(tmp_path, monkeypatch):
    from storyboard_project import SIZE, make_storyboard
    from typer.testing import CliRunner

    from nava_director.cli import app

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    sb = make_storyboard(tmp_path)
    (tmp_path / "w").mkdir()
    result = CliRunner().invoke(app, ["render", str(sb), "--weights", str(tmp_path / "w"), "--size", SIZE])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.count("is missing 6 component(s)") == 1
    assert not (tmp_path / "sb.nava" / "shots").exists()
