"""The stream worker's Faust settings (streams.runtime.app.faust_settings) are all settings Faust knows.

Faust accepts any keyword and ignores one it does not know: the RocksDB sizes were once given to the app
as ``rocksdb_options``, which Faust has no setting for, and the worker ran on Faust's server defaults.
"""

from __future__ import annotations

import faust
from faust.types.settings import Settings as FaustSettings

from dids.kernel.settings import Settings
from streams.runtime.app import faust_settings


def test_every_setting_the_worker_gives_is_one_faust_knows(tmp_path):
    given = faust_settings(Settings(home=tmp_path), tmp_path / "worker-0")
    assert set(given) - FaustSettings.setting_names() == set()


def test_the_settings_reach_the_app(tmp_path):
    given = faust_settings(Settings(home=tmp_path, topic_partitions=3), tmp_path / "worker-0")
    conf = faust.App("settings-test", **given).conf
    assert conf.stream_buffer_maxsize == 128 and conf.topic_partitions == 3
    assert conf.broker_session_timeout == 10.0 and str(conf.datadir).endswith("worker-0")


def test_an_unknown_setting_is_what_the_first_test_catches():
    """The control: Faust itself takes the name the sizes were once given under, silently."""
    assert "rocksdb_options" not in FaustSettings.setting_names()
    assert not hasattr(faust.App("settings-control", rocksdb_options={"write_buffer_size": 1}).conf, "rocksdb_options")
