"""pytest setup for tests/py: a private temporary directory per test. pytest's own tmp_path
lives under /tmp/pytest-of-USER and keeps only the last three runs, so two test runs at once
on one machine (make test and make asan, or two checkouts) delete each other's files."""
import pathlib
import shutil
import tempfile

import pytest


@pytest.fixture
def tmp_path():
    d = tempfile.mkdtemp(prefix="hvtrace-test-")
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)
