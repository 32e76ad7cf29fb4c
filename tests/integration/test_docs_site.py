"""The docs site builds strictly, and its configuration reference lists every setting.

``mkdocs build --strict`` fails on a broken link, a missing anchor, a page left out of
the navigation or an include (an example, the bench's report) that does not exist, so
`make test` fails on any of them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import ROOT

MKDOCS = [sys.executable, "-m", "mkdocs", "build", "--strict"]


def build(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    command = [*MKDOCS, "--config-file", str(root / "mkdocs.yml"), "--site-dir", str(site)]
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # material's notice about its future
    return subprocess.run(
        command, cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site as `make docs` builds it."""
    where = tmp_path_factory.mktemp("docs") / "site"
    out = build(ROOT, where)
    assert out.returncode == 0, out.stderr[-3000:]
    return where


def test_the_site_builds_strictly(site: Path) -> None:
    """Every page, link, anchor and include of the site is sound, and the examples are
    included (no include directive left in a page)."""
    page = (site / "guides" / "lead-intake" / "index.html").read_text()
    assert "demo.local-form-key" in page and "--8&lt;--" not in page


def test_a_broken_link_fails_the_build(tmp_path: Path) -> None:
    """The build is strict: a link to a page that does not exist stops it."""
    copy = tmp_path / "repo"
    copy.mkdir()
    shutil.copy(ROOT / "mkdocs.yml", copy)
    shutil.copytree(ROOT / "docs", copy / "docs")
    shutil.copytree(ROOT / "bench" / "results", copy / "bench" / "results")
    index = copy / "docs" / "index.md"
    index.write_text(index.read_text() + "\nSee [the guide](guides/no-such-page.md).\n")
    out = build(copy, tmp_path / "site")
    assert out.returncode != 0 and "no-such-page.md" in out.stderr


def test_the_configuration_reference_lists_every_setting(site: Path) -> None:
    """Each Settings field with its variable, and each company setting, is on the page."""
    from shared.domain.company import CompanySettings
    from shared.settings import ENV_PREFIX, Settings

    page = (site / "configuration" / "index.html").read_text()
    variables = [ENV_PREFIX + name.upper() for name in Settings.model_fields]
    variables[variables.index("GROWTHKIT_PROJECT_ID")] = "GOOGLE_CLOUD_PROJECT"
    assert [] == [v for v in variables if f"<code>{v}</code>" not in page]
    missing = [n for n in CompanySettings.model_fields if f"<code>{n}</code>" not in page]
    assert [] == missing
