"""FastParser against python-ovs' own pure-Python parser: same values and the same split of a stream
into messages, whatever the chunk boundaries (inside strings, escapes, brackets in strings)."""

from __future__ import annotations

import json
import random

import ovs.json
import ovs.jsonrpc
import pytest

from steth.openstack.ovs_json import FastParser, install

MESSAGES = [
    {
        "id": 1,
        "result": {"Logical_Switch_Port": {"u1": {"new": {"name": "p1", "addresses": "fa:16:3e:00:00:01 10.0.0.5"}}}},
    },
    {
        "method": "update",
        "params": [None, {"ACL": {"u2": {"new": {"match": 'ip4.dst == {10.0.0.1, 10.0.0.2} && "x"'}}}}],
    },
    {"id": "echo", "result": ["a]b", "c}d", 'q"uote', "back\\slash", "tab\t", "é ünï ✓", -1.5e3, True, None, 0]},
    [1, [2, [3, {"k": []}]], {}],
    {"deep": [[[[["}"]]]]], "empty": "", "esc": '\\"', "u": "\u00e9\u2713\ud83d\ude00"},
]


def pure(text: str) -> list:
    """Messages as ovs.json.Parser (pure Python) splits and decodes them."""
    out = []
    while text.strip():
        p = ovs.json.Parser.__new__(ovs.json.Parser)  # skip the C extension if ever present
        p.__init__()
        used = p.feed(text)
        out.append(p.finish())
        text = text[used:]
    return out


def fast(text: str, chunk: int, rng: random.Random) -> list:
    """Fed as jsonrpc does: chunks of the stream, the unused rest fed to a new parser."""
    out, buf, pos = [], "", 0
    parser = None
    while pos < len(text) or buf:
        if not buf:
            n = rng.randint(1, chunk)
            buf, pos = text[pos : pos + n], pos + n
        parser = parser or FastParser()
        buf = buf[parser.feed(buf) :]
        if parser.is_done():
            out.append(parser.finish())
            parser = None
        if pos >= len(text) and not buf:
            break
    return out


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 4096])
def test_same_messages_as_ovs_whatever_the_chunks(chunk):
    text = " \n".join(json.dumps(m, ensure_ascii=False) for m in MESSAGES) + "\n"
    want = pure(text)
    assert want == MESSAGES
    for seed in range(20):
        assert fast(text, chunk, random.Random(seed)) == want


def test_errors_are_strings_as_ovs_reports_them():
    p = FastParser()
    p.feed('{"a": tru}')
    assert p.is_done() and isinstance(p.finish(), str)
    assert FastParser().finish() == "empty input stream"
    p = FastParser()
    p.feed('{"a": [1, 2')
    assert not p.is_done() and p.finish() == "unexpected end of input"
    p = FastParser()
    p.feed("42 ")
    assert p.finish() == 42  # a bare number, as ovs.json.from_string accepts


def test_install_makes_jsonrpc_use_it():
    before = ovs.json.Parser
    install()
    try:
        assert ovs.json.Parser is FastParser or ovs.json.PARSER == ovs.json.PARSER_C
        assert ovs.json.from_string('{"x": ["y", 1]}') == {"x": ["y", 1]}
        msg = ovs.jsonrpc.Message.from_json(ovs.json.from_string('{"id": 3, "result": {"a": 1}, "error": null}'))
        assert msg.result == {"a": 1}
    finally:
        ovs.json.Parser = before


def test_a_parser_made_before_the_swap_fails_so_every_entry_point_installs_first(monkeypatch):
    """Why :func:`steth.openstack.ovn.prepared` installs before any stream: an ``ovs.json.Parser`` made
    before the swap names its class through the module global and breaks mid-message (seen when doctor
    read the cluster and the databases concurrently). Every entry point finds FastParser installed when
    it opens its first stream."""
    import ovs.stream

    from steth.openstack import ovn, ovn_northd
    from steth.openstack.ovn_model import ClusterMember, OvnConfig

    original = ovs.json.Parser
    monkeypatch.setattr(ovs.json, "Parser", original)  # restored after the test
    if ovs.json.PARSER == ovs.json.PARSER_C:
        pytest.skip("python-ovs has its C parser here: nothing is swapped")
    old = original()
    old.feed('{"a": "x\\')
    install()
    with pytest.raises(AttributeError):
        old.feed('"y"}')  # the escape is lexed by the old class's code, which finds FastParser

    seen: list[bool] = []

    def refuse(remote, *args, **kwargs):
        seen.append(ovs.json.Parser is FastParser)
        return 111, None  # ECONNREFUSED

    monkeypatch.setattr(ovs.stream.Stream, "open", staticmethod(refuse))
    config = OvnConfig(nb_connection="tcp:127.0.0.1:1", sb_connection="tcp:127.0.0.1:2")
    for entry in (
        lambda: ovn.cluster(config, "sb"),
        lambda: ovn_northd.probe(config, [ClusterMember("tcp:127.0.0.1:2", reachable=True, leader=True)]),
    ):
        monkeypatch.setattr(ovs.json, "Parser", original)
        entry()
    assert seen == [True, True]
