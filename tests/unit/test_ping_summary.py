import math

from steth.probes.ping import summarise
from steth.wire.models import Verdict


def test_all_received_is_ok_with_ping_style_stats():
    r = summarise("10.0.0.1", 4, [1.0, 2.0, 3.0, 4.0])
    assert r.verdict is Verdict.OK and r.loss_pct == 0.0 and r.received == 4
    assert (r.rtt_min_ms, r.rtt_avg_ms, r.rtt_max_ms) == (1.0, 2.5, 4.0)
    assert math.isclose(r.rtt_mdev_ms, math.sqrt(1.25), abs_tol=1e-3)  # population stddev, as ping(8)


def test_partial_and_total_loss_fail():
    partial = summarise("10.0.0.1", 4, [1.0])
    assert partial.verdict is Verdict.FAIL and partial.loss_pct == 75.0 and partial.rtt_mdev_ms == 0.0
    lost = summarise("10.0.0.1", 3, [], "Destination host unreachable")
    assert lost.verdict is Verdict.FAIL and lost.loss_pct == 100.0 and lost.rtt_avg_ms is None
    assert lost.error == "Destination host unreachable"


def test_nothing_sent_is_an_error():
    r = summarise("10.0.0.1", 0, [], "cannot open ICMP socket: permission denied")
    assert r.verdict is Verdict.ERROR and r.loss_pct == 100.0
