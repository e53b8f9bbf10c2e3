"""The consensus benchmark command (small size here; the full size is run by hand)."""

import json


def test_bench_consensus_prints_json_last(runner):
    result = runner.invoke(
        args=["bench", "consensus", "--participants", "300", "--comments", "120", "--repeat", "1"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["participants"] == 300 and figures["comments"] == 120
    assert 0.05 < figures["filled"] < 0.15
    assert figures["groups"] >= 2 and figures["seconds"] > 0
