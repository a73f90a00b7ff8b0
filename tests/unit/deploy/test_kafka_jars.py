"""The broker's jars are the committed list, byte for byte: a changed, missing or extra jar stops the broker."""

from __future__ import annotations

import shutil

import pytest

from deploy.local_kafka import BrokerError, ensure_kafka_libs, expected_checksums, verify_jars


@pytest.fixture
def libs_copy(tmp_path):
    copy = tmp_path / "libs"
    shutil.copytree(ensure_kafka_libs(), copy)
    return copy


def test_the_fetched_jars_match_the_committed_list(libs_copy):
    assert len(expected_checksums()) > 40
    verify_jars(libs_copy)


@pytest.mark.parametrize("tamper", ["change", "remove", "add"])
def test_a_tampered_jar_folder_is_refused(libs_copy, tamper):
    jar = sorted(libs_copy.glob("kafka-clients-*.jar"))[0]
    if tamper == "change":
        with jar.open("ab") as f:
            f.write(b"\0")
    elif tamper == "remove":
        jar.unlink()
    else:
        (libs_copy / "evil-1.0.jar").write_bytes(b"PK")
    with pytest.raises(BrokerError, match="jars.sha256") as error:
        verify_jars(libs_copy)
    assert (jar.name if tamper != "add" else "evil-1.0.jar") in str(error.value)
