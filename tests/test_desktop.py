"""`studio-tagger install-desktop`: the menu entry, MIME type and icons a freedesktop desktop reads, checked
with desktop-file-validate and update-mime-database where installed (the Makefile installs
desktop-file-utils) and parsed here in any case."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from studio_tagger.cli import main
from studio_tagger.desktop import SESSION_MIME, desktop_entry, install_desktop

VALIDATE = shutil.which("desktop-file-validate")


def read_entry(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read(path, encoding="utf-8")
    assert parser.sections() == ["Desktop Entry"]
    return dict(parser["Desktop Entry"])


def exec_args(value: str) -> list[str]:
    """The argument list of an Exec value, decoded as the Desktop Entry Specification says: string escapes
    first, then double-quoted arguments with backslash escapes."""
    text = value.replace("\\\\", "\0").replace("\0", "\\")
    args, current, quoted, i, started = [], "", False, 0, False
    while i < len(text):
        c = text[i]
        if quoted and c == "\\":
            current, i = current + text[i + 1], i + 2
            continue
        if c == '"':
            quoted, started = not quoted, True
        elif c == " " and not quoted:
            if started:
                args.append(current)
            current, started = "", False
        else:
            current, started = current + c, True
        i += 1
    if started:
        args.append(current)
    return [a.replace("%%", "%") for a in args]


def test_install_writes_valid_files_that_start_this_program(tmp_path, capsys):
    home = tmp_path / "share"
    assert main(["install-desktop", "--data-home", str(home)]) == 0
    printed = capsys.readouterr().out.splitlines()
    desktop = home / "applications" / "studio-tagger.desktop"
    assert f"wrote {desktop}" in printed and len(printed) == 4

    entry = read_entry(desktop)
    assert entry["Type"] == "Application" and entry["Icon"] == "studio-tagger" and entry["Terminal"] == "false"
    mime_types = entry["MimeType"].rstrip(";").split(";")
    assert SESSION_MIME in mime_types and {"audio/flac", "audio/x-wav", "audio/mpeg", "audio/ogg"} <= set(mime_types)
    program, *rest = exec_args(entry["Exec"])
    assert rest[-2:] == ["app", "%f"]  # one file: the app opens one recording or session at a time
    assert os.access(program, os.X_OK)
    started = subprocess.run([program, *rest[:-2], "--help"], capture_output=True, text=True, timeout=120)
    assert started.returncode == 0 and started.stdout.startswith("usage: studio-tagger")
    if VALIDATE:
        check = subprocess.run([VALIDATE, str(desktop)], capture_output=True, text=True, timeout=60)
        assert check.returncode == 0 and check.stdout + check.stderr == "", check.stdout + check.stderr

    package = ET.parse(home / "mime" / "packages" / "studio-tagger.xml").getroot()
    ns = "{http://www.freedesktop.org/standards/shared-mime-info}"
    assert package.tag == f"{ns}mime-info"
    (mime,) = package.findall(f"{ns}mime-type")
    assert mime.get("type") == SESSION_MIME and mime.find(f"{ns}glob").get("pattern") == "*.stsession"
    if shutil.which("update-mime-database"):  # install refreshed the cache a desktop looks files up in
        assert f"{SESSION_MIME}:*.stsession" in (home / "mime" / "globs2").read_text(encoding="utf-8")

    svg = "{http://www.w3.org/2000/svg}svg"
    for icon in ("apps/studio-tagger.svg", "mimetypes/application-x-studio-tagger-session.svg"):
        assert ET.parse(home / "icons" / "hicolor" / "scalable" / icon).getroot().tag == svg

    assert main(["install-desktop", "--data-home", str(home), "--uninstall"]) == 0
    assert not desktop.exists() and not (home / "mime" / "packages" / "studio-tagger.xml").exists()
    assert not list((home / "icons").rglob("*.svg"))


def test_install_goes_to_xdg_data_home_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    written = install_desktop()
    assert written and all(p.is_relative_to(tmp_path / "xdg") and p.is_file() for p in written)


@pytest.mark.parametrize("program", ["/opt/my apps/$HOME/studio-tagger", '/srv/a"b`c\\d/100%/studio-tagger'])
def test_exec_survives_unusual_install_paths(tmp_path, program):
    desktop = tmp_path / "t.desktop"
    desktop.write_text(desktop_entry([program]), encoding="utf-8")
    assert exec_args(read_entry(desktop)["Exec"]) == [program, "app", "%f"]
    if VALIDATE:
        check = subprocess.run([VALIDATE, str(desktop)], capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
