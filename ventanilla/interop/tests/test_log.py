"""The message log: append-only (ORM and database triggers), hash chain, seals, and the verify command."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from ventanilla.interop.models import ChainSeal, MessageLogEntry
from ventanilla.interop.services import (
    GENESIS_HASH,
    LogRecord,
    chain_seal,
    chain_verify,
    entry_digest,
    log_append,
)

from .conftest import triggers_off, triggers_on


def _append(n: int) -> list[MessageLogEntry]:
    return [
        log_append(
            LogRecord(
                request_id=f"req-{i}",
                client="INSTB/EXPEDIENTES",
                service_id_text="INSTA/REGISTRO/personas",
                method="GET",
                path=f"/personas/CI-{i}",
                purpose="Prueba",
                subject=f"CI-{i}",
                user="bob",
                status=200,
                latency_ms=10 + i,
            )
        )
        for i in range(1, n + 1)
    ]


def _verify() -> str:
    out = StringIO()
    call_command("interop_verify_log", stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def entries(db: Any, interop_triggers: None) -> list[MessageLogEntry]:
    return _append(4)


def test_entries_are_chained(entries: list[MessageLogEntry]) -> None:
    assert entries[0].prev_hash == GENESIS_HASH
    for previous, entry in itertools.pairwise(entries):
        assert entry.prev_hash == previous.entry_hash
        assert entry.seq == previous.seq + 1
    stored = MessageLogEntry.objects.get(seq=2)
    assert entry_digest(stored) == stored.entry_hash
    assert "4 entradas" in _verify()


def test_orm_cannot_change_or_delete_entries(entries: list[MessageLogEntry]) -> None:
    entry = MessageLogEntry.objects.get(seq=1)
    entry.status = 500
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        MessageLogEntry.objects.filter(seq=1).update(status=500)
    with pytest.raises(PermissionError):
        MessageLogEntry.objects.all().delete()


@pytest.mark.parametrize(
    "statement",
    ["UPDATE interop_messagelogentry SET status = 500", "DELETE FROM interop_messagelogentry"],
)
def test_raw_sql_is_refused_by_the_database(entries: list[MessageLogEntry], statement: str) -> None:
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert MessageLogEntry.objects.filter(status=200).count() == 4


def _tamper(sql: str, params: list[Any]) -> None:
    triggers_off()
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    finally:
        triggers_on()


def test_tampered_entry_is_detected_by_the_command(entries: list[MessageLogEntry]) -> None:
    _tamper("UPDATE interop_messagelogentry SET subject = %s WHERE seq = %s", ["CI-0000000", 3])
    with pytest.raises(CommandError) as raised:
        _verify()
    assert "#3" in str(raised.value)
    report = chain_verify()
    assert (report.ok, report.first_bad_seq) == (False, 3)


def test_rewritten_entry_with_recomputed_hash_breaks_the_next_link(entries: list[MessageLogEntry]) -> None:
    forged = MessageLogEntry.objects.get(seq=2)
    forged.status = 404
    _tamper(
        "UPDATE interop_messagelogentry SET status = %s, entry_hash = %s WHERE seq = %s",
        [404, entry_digest(forged), 2],
    )
    report = chain_verify()
    assert (report.ok, report.first_bad_seq) == (False, 3)
    assert "enlace" in report.problem


def test_deleted_entry_in_the_middle_is_detected(entries: list[MessageLogEntry]) -> None:
    _tamper("DELETE FROM interop_messagelogentry WHERE seq = %s", [2])
    report = chain_verify()
    assert (report.ok, report.first_bad_seq) == (False, 2)


def test_seal_signs_the_head_and_catches_a_cut_tail(entries: list[MessageLogEntry]) -> None:
    out = StringIO()
    call_command("interop_seal", stdout=out)
    seal = ChainSeal.objects.get()
    assert seal.seq == 4 and seal.entry_hash == entries[-1].entry_hash
    assert chain_seal() is None  # head already sealed
    assert "1 sellos" in _verify()
    _tamper("DELETE FROM interop_messagelogentry WHERE seq = %s", [4])
    report = chain_verify()
    assert report.ok is False and report.first_bad_seq == 4


def test_forged_seal_signature_is_detected(entries: list[MessageLogEntry]) -> None:
    seal = chain_seal()
    assert seal is not None
    _tamper(
        "UPDATE interop_chainseal SET signature = %s WHERE id = %s", ["AAAA" + seal.signature[4:], seal.pk]
    )
    report = chain_verify()
    assert report.ok is False and "firma" in report.problem


def test_seal_task_is_idempotent(entries: list[MessageLogEntry]) -> None:
    from ventanilla.interop.tasks import interop_seal_task

    interop_seal_task.enqueue()
    interop_seal_task.enqueue()
    assert ChainSeal.objects.count() == 1


def test_empty_log_verifies(db: Any) -> None:
    assert "0 entradas" in _verify()


def test_seal_without_a_key_fails_cleanly(entries: list[MessageLogEntry], settings: Any) -> None:
    settings.INTEROP_SEAL_PRIVATE_KEY = ""
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": ""}
    with pytest.raises(CommandError, match="clave"):
        call_command("interop_seal", stdout=StringIO())
    assert not ChainSeal.objects.exists()


def test_seal_with_its_own_key(entries: list[MessageLogEntry], settings: Any) -> None:
    from ventanilla.identity.keys import generate_rsa_pem

    old_key = generate_rsa_pem()
    settings.INTEROP_SEAL_PRIVATE_KEY = old_key
    assert chain_seal() is not None
    assert chain_verify().ok
    settings.INTEROP_SEAL_PRIVATE_KEY = generate_rsa_pem()  # rotated: a seal by an unknown key is a failure
    report = chain_verify()
    assert report.ok is False and report.first_bad_seq == 4 and "clave desconocida" in report.problem
    # ...unless the retired key is listed as trusted.
    settings.INTEROP_SEAL_TRUSTED_PUBLIC_KEYS = [_public_pem(old_key)]
    assert chain_verify().ok


def _public_pem(private_pem: str) -> str:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_deleted_newest_entries_are_detected_without_a_seal(entries: list[MessageLogEntry]) -> None:
    chain_seal()
    _append(2)  # entries 5 and 6, not sealed yet
    _tamper("DELETE FROM interop_messagelogentry WHERE seq = %s", [6])
    report = chain_verify()
    assert report.ok is False and report.first_bad_seq == 6 and "cabeza" in report.problem


def test_deleted_sealed_entries_with_a_rewound_head_are_detected(entries: list[MessageLogEntry]) -> None:
    _append(2)
    chain_seal()  # seals #6
    _tamper("DELETE FROM interop_messagelogentry WHERE seq > %s", [4])
    _tamper("UPDATE interop_loghead SET seq = %s, entry_hash = %s", [4, entries[-1].entry_hash])
    report = chain_verify()
    assert report.ok is False and report.first_bad_seq == 5


def test_seals_are_append_only(entries: list[MessageLogEntry]) -> None:
    seal = chain_seal()
    assert seal is not None
    with pytest.raises(PermissionError):
        seal.save()
    with pytest.raises(PermissionError):
        seal.delete()
    with pytest.raises(PermissionError):
        ChainSeal.objects.update(key_fingerprint="otra")
    with pytest.raises(PermissionError):
        ChainSeal.objects.all().delete()
    for statement in (
        "UPDATE interop_chainseal SET key_fingerprint = 'otra'",
        "DELETE FROM interop_chainseal",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert ChainSeal.objects.get().key_fingerprint == seal.key_fingerprint


def test_rewritten_chain_with_a_reforged_seal_fails(entries: list[MessageLogEntry]) -> None:
    """Someone with database access rewrites history, recomputes every hash and re-points the seal: without
    the sealing key the seal can only carry an unknown fingerprint (or a bad signature) — a failure."""
    seal = chain_seal()
    assert seal is not None
    previous = GENESIS_HASH
    triggers_off()
    try:
        with connection.cursor() as cursor:
            for entry in MessageLogEntry.objects.order_by("seq"):
                if entry.seq == 2:
                    entry.subject = "CI-1"
                entry.prev_hash = previous
                entry.entry_hash = entry_digest(entry)
                cursor.execute(
                    "UPDATE interop_messagelogentry SET subject = %s, prev_hash = %s, entry_hash = %s "
                    "WHERE seq = %s",
                    [entry.subject, entry.prev_hash, entry.entry_hash, entry.seq],
                )
                previous = entry.entry_hash
            cursor.execute("UPDATE interop_loghead SET entry_hash = %s", [previous])
            cursor.execute(
                "UPDATE interop_chainseal SET entry_hash = %s, key_fingerprint = %s", [previous, "otra-clave"]
            )
    finally:
        triggers_on()
    report = chain_verify()
    assert report.ok is False and "clave desconocida" in report.problem


def test_new_entries_bind_service_and_consumer_old_ones_still_verify(entries: list[MessageLogEntry]) -> None:
    stored = MessageLogEntry.objects.get(seq=2)
    assert stored.digest_version == 2
    moved = MessageLogEntry.objects.get(seq=2)
    moved.consumer_id = 999
    assert entry_digest(moved) != stored.entry_hash  # re-pointing the consumer breaks the entry
    # An entry written before version 2 (digest_version NULL) is verified with the first formula.
    old = MessageLogEntry.objects.get(seq=2)
    old.digest_version = None
    old.consumer_id = 999
    legacy_fields = [
        old.seq,
        old.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        old.request_id,
        old.client,
        old.service_id_text,
        old.method,
        old.path,
        old.purpose,
        old.subject,
        old.user,
        old.status,
        old.outcome,
        old.latency_ms,
        old.request_hash,
        old.response_hash,
        old.prev_hash,
    ]
    legacy = hashlib.sha256(
        json.dumps(legacy_fields, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()
    assert entry_digest(old) == legacy


def test_control_characters_are_stored_harmlessly(db: Any, interop_triggers: None) -> None:
    entry = log_append(
        LogRecord(
            request_id="r", client="A/B", service_id_text="A/B/c", method="GET", path="/x", purpose="a\x00b"
        )
    )
    assert MessageLogEntry.objects.get(pk=entry.pk).purpose == "a\ufffdb"
    assert chain_verify().ok
