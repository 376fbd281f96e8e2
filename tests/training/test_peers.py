"""`python -m training.peers`: argument checks, the printed table and the JSON figures, on the synthetic archive."""

from __future__ import annotations

import json

import pytest

from training.peers import main


def test_peers_cli_prints_the_table_and_writes_json(synthetic_zip, tmp_path, capsys):
    out = tmp_path / "figures" / "peers.json"
    code = main(
        ["--archive", str(synthetic_zip), "--data-dir", str(tmp_path / "data"), "--methods", "item_knn", "popularity",
         "--streaming-sample", "120", "--streaming-seed", "5", "--out", str(out)]
    )  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "streaming protocol: a sample of 120 of" in printed and "events, seed 5" in printed
    rows = [line.split("|")[0].strip() for line in printed.splitlines() if "|" in line]
    assert rows[-2:] == ["item_knn", "popularity"]
    figures = json.loads(out.read_text())
    assert list(figures["methods"]) == ["item_knn", "popularity"]
    assert figures["streaming_events"]["events"] == 120 and len(figures["archive_sha256"]) == 64
    assert [p.name for p in out.parent.iterdir()] == ["peers.json"]  # no temporary file left behind


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--methods", "svd"], "invalid choice: 'svd'"),
        (["--streaming-sample", "0"], "--streaming-sample must be at least 1"),
        (["--final-k", "300"], "need 1 <= --final-k <= --retrieve-k"),
        (["--streaming-all", "--streaming-sample", "5"], "not allowed with argument"),
    ],
)
def test_peers_cli_refuses_bad_arguments(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_peers_cli_reports_a_bad_archive(tmp_path, capsys):
    bad = tmp_path / "ml-1m.zip"
    bad.write_bytes(b"not a zip")
    assert main(["--archive", str(bad), "--data-dir", str(tmp_path / "data")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
