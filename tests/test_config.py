"""Configuration precedence: flags > environment > nava.toml > user config."""

from __future__ import annotations

from pathlib import Path

import pytest

from nava_director.errors import InputError
from nava_director.settings import Settings, choose_engine, load_settings, parse_size, user_config_path

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def layout(tmp_path):
    """A storyboard folder with a nava.toml and a user config, each setting some keys."""
    project = tmp_path / "film"
    project.mkdir()
    (project / "nava.toml").write_text(
        'weights = "weights/project"\nvllm_url = "http://project:8000/v1"\nrewriter = "template"\nsize = "640x352"\n'
    )
    user = tmp_path / "user" / "config.toml"
    user.parent.mkdir()
    user.write_text(
        'weights = "/user/weights"\nvllm_url = "http://user:8000/v1"\nvllm_model = "user-model"\n'
        'loudness = -14\nrewriter = "vllm"\nvllm_python = "vllm/bin/python"\n'
    )
    return project / "demo.yaml", user


def test_defaults_without_any_config(tmp_path):
    settings = load_settings(tmp_path / "sb.yaml", env={}, user_config=tmp_path / "none.toml")
    assert settings == Settings()
    assert (settings.engine, settings.rewriter, settings.loudness, settings.size) == ("auto", "auto", -16.0, None)
    assert settings.source("weights") == "default"
    assert settings.project_dir(Path("boards/demo.yaml")) == Path("boards/demo.nava")


def test_each_layer_overrides_the_one_below(layout):
    storyboard, user = layout
    s = load_settings(storyboard, env={}, user_config=user)
    assert s.vllm_model == "user-model" and s.source("vllm_model") == str(user)  # only the user config sets it
    assert s.loudness == -14.0
    assert s.vllm_python == user.parent / "vllm" / "bin" / "python"  # relative to the file naming it
    assert s.weights == storyboard.parent / "weights" / "project"  # nava.toml beats the user config
    assert s.source("weights") == str(storyboard.parent / "nava.toml")
    assert (s.rewriter, s.size) == ("template", (640, 352))

    env = {"NAVA_WEIGHTS": "/env/weights", "NAVA_VLLM_URL": "http://env:8000/v1", "NAVA_VLLM_PYTHON": "/env/py"}
    s = load_settings(storyboard, env=env, user_config=user)
    assert (s.weights, s.vllm_url, s.vllm_python) == (Path("/env/weights"), "http://env:8000/v1", Path("/env/py"))
    assert s.source("vllm_url") == "env NAVA_VLLM_URL"
    assert s.rewriter == "template"  # not an environment setting: nava.toml still decides

    flags = {"weights": "/flag/weights", "vllm_url": None, "rewriter": "vllm", "size": "320x176"}
    s = load_settings(storyboard, flags, env=env, user_config=user)
    assert s.weights == Path("/flag/weights") and s.source("weights") == "flag"
    assert s.vllm_url == "http://env:8000/v1"  # a flag left out (None) does not override
    assert (s.rewriter, s.size) == ("vllm", (320, 176))


def test_nava_toml_only_beside_the_storyboard(layout, tmp_path):
    storyboard, user = layout
    elsewhere = tmp_path / "other" / "sb.yaml"
    s = load_settings(elsewhere, env={}, user_config=user)
    assert s.weights == Path("/user/weights")


def test_choose_engine():
    assert choose_engine(Settings())[0] == "animatic"
    assert "NAVA_WEIGHTS" in choose_engine(Settings())[1]
    s = load_settings(None, env={"NAVA_WEIGHTS": "/w"}, user_config=Path("/nonexistent/config.toml"))
    assert choose_engine(s) == ("nava", "NAVA weights configured (env NAVA_WEIGHTS: /w)")
    s = load_settings(None, {"engine": "animatic"}, env={"NAVA_WEIGHTS": "/w"}, user_config=Path("/none"))
    assert choose_engine(s) == ("animatic", "engine = animatic (flag)")


def test_user_config_path_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert user_config_path() == tmp_path / "nava-director" / "config.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_config_path() == tmp_path / "home" / ".config" / "nava-director" / "config.toml"


def test_the_example_config_is_valid(tmp_path):
    s = load_settings(None, env={}, user_config=ROOT / "configs" / "nava.toml")
    assert (s.engine, s.rewriter, s.loudness) == ("auto", "auto", -16.0)
    assert s.vllm_model is None  # copying the example must not turn the vLLM rewriter on


@pytest.mark.parametrize(
    "text,message",
    [
        ('wieghts = "/w"\n', "unknown setting(s) wieghts"),
        ('engine = "fast"\n', "engine 'fast' is not one of auto, nava, animatic"),
        ('size = "big"\n', "size 'big' is not WIDTHxHEIGHT"),
        ("loudness = 'loud'\n", "loudness 'loud' is not a number"),
        ("weights = \n", "Invalid"),
    ],
)
def test_bad_config_is_an_input_error(tmp_path, text, message):
    (tmp_path / "nava.toml").write_text(text)
    with pytest.raises(InputError) as info:
        load_settings(tmp_path / "sb.yaml", env={}, user_config=tmp_path / "none.toml")
    assert message in info.value.message
    assert info.value.exit_code == 2


@pytest.mark.parametrize("text,size", [("640x352", (640, 352)), ("1280X704", (1280, 704))])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["640", "0x352", "641x352", "axb", "640x352x3"])
def test_parse_size_rejects(text):
    with pytest.raises(InputError):
        parse_size(text)


def test_guidance_is_a_table_of_numbers(tmp_path):
    (tmp_path / "nava.toml").write_text("guidance = { s_v = 4, s_t = 2.5 }\n")
    s = load_settings(tmp_path / "sb.yaml", env={}, user_config=tmp_path / "none.toml")
    assert s.guidance == {"s_v": 4.0, "s_t": 2.5}
    (tmp_path / "nava.toml").write_text('guidance = { s_v = "high" }\n')
    with pytest.raises(InputError, match=r"nava.toml:1: guidance s_v = .high. is not a number from 0 to 30"):
        load_settings(tmp_path / "sb.yaml", env={}, user_config=tmp_path / "none.toml")
