"""A single-node Apache Kafka broker (KRaft) for local runs, tests and CI.

The jars come from Maven Central through ``mvn dependency:copy-dependencies`` (deploy/kafka/pom.xml)
into a git-ignored cache, once. The broker then runs as a plain Java process:
``StorageTool format --standalone``, then ``java -cp 'libs/*' kafka.Kafka server.properties``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from dids.kernel.errors import DidsError
from dids.kernel.processes import Background, spawn, wait_until

KAFKA_VERSION = "4.1.1"
_HERE = Path(__file__).parent / "kafka"
POM = _HERE / "pom.xml"
LOG4J_CONFIG = _HERE / "log4j2.properties"
CHECKSUMS = _HERE / "jars.sha256"
DEFAULT_CACHE = Path(__file__).resolve().parents[1] / ".cache" / "kafka"


class BrokerError(DidsError):
    """The local broker could not be fetched, formatted or started."""


def kafka_cache_dir() -> Path:
    return Path(os.environ.get("DIDS_KAFKA_CACHE", DEFAULT_CACHE)) / KAFKA_VERSION


def ensure_kafka_libs(cache: Path | None = None, *, quiet: bool = False, verify: bool = True) -> Path:
    """Return the folder of broker jars, fetching them with Maven the first time; every time, each jar
    is checked against the committed SHA-256 list (deploy/kafka/jars.sha256) before a broker uses it."""
    libs = (cache or kafka_cache_dir()) / "libs"
    marker = libs / f"kafka_2.13-{KAFKA_VERSION}.jar"
    if marker.exists():
        if verify:
            verify_jars(libs)
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError("Maven (mvn) is not on PATH: install it (apt-get install maven) to fetch the Kafka broker")
    tmp = libs.with_name("libs.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    if not quiet:
        print(f"Fetching Apache Kafka {KAFKA_VERSION} jars with Maven into {libs} (once) ...", file=sys.stderr)
    cmd = [
        mvn,
        "-B",
        "--strict-checksums",  # a download whose Maven Central checksum does not match fails the build
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={tmp}",
        "-DincludeScope=runtime",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0 or not (tmp / marker.name).exists():
        raise BrokerError(
            f"fetching Kafka jars failed (exit {result.returncode}): {' '.join(cmd)}\n"
            f"{(result.stdout + result.stderr)[-3000:]}\nCheck that Maven Central is reachable."
        )
    if verify:  # off only while the list itself is being written (dids broker --write-checksums)
        verify_jars(tmp)
    shutil.rmtree(libs, ignore_errors=True)
    tmp.rename(libs)
    return libs


def jar_checksums(libs: Path) -> dict[str, str]:
    return {jar.name: hashlib.sha256(jar.read_bytes()).hexdigest() for jar in sorted(libs.glob("*.jar"))}


def expected_checksums() -> dict[str, str]:
    """``sha256sum`` lines of deploy/kafka/jars.sha256 as {jar: digest}."""
    lines = (line.split() for line in CHECKSUMS.read_text().splitlines() if line.strip() and not line.startswith("#"))
    return {name.lstrip("*"): digest for digest, name in lines}


def verify_jars(libs: Path) -> None:
    """Refuse a jar folder that is not exactly the committed list: a jar changed, missing or added."""
    expected, found = expected_checksums(), jar_checksums(libs)
    changed = sorted(name for name in expected.keys() & found.keys() if expected[name] != found[name])
    missing, extra = sorted(expected.keys() - found.keys()), sorted(found.keys() - expected.keys())
    if changed or missing or extra:
        raise BrokerError(
            f"the Kafka jars in {libs} are not the ones in {CHECKSUMS.name}: changed {changed or 'none'}, missing "
            f"{missing or 'none'}, unexpected {extra or 'none'}. Delete {libs} to fetch them again; after a deliberate "
            "version change refresh the list with `dids broker --write-checksums` and review the diff."
        )


def write_checksums(libs: Path) -> Path:
    """Write deploy/kafka/jars.sha256 from ``libs`` (after a deliberate Kafka version change)."""
    header = f"# SHA-256 of the Kafka {KAFKA_VERSION} broker jars (dids broker --write-checksums)\n"
    CHECKSUMS.write_text(header + "".join(f"{d}  {n}\n" for n, d in jar_checksums(libs).items()))
    return CHECKSUMS


def _listeners(port: int, controller_port: int, sasl_port: int | None, sasl_users: dict[str, str]) -> str:
    if not sasl_port:
        return (
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}\n"
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n"
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n"
        )
    # a second listener that wants SASL/PLAIN logins (tests of the DIDS_KAFKA_SASL_* settings)
    accounts = " ".join(f'user_{name}="{password}"' for name, password in sasl_users.items())
    return (
        f"listeners=PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{sasl_port},"
        f"CONTROLLER://127.0.0.1:{controller_port}\n"
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port},SASL_PLAINTEXT://127.0.0.1:{sasl_port}\n"
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT\n"
        "inter.broker.listener.name=PLAINTEXT\n"
        "sasl.enabled.mechanisms=PLAIN\n"
        "listener.name.sasl_plaintext.plain.sasl.jaas.config="
        f"org.apache.kafka.common.security.plain.PlainLoginModule required {accounts};\n"
    )


def server_properties(
    data_dir: Path,
    port: int,
    controller_port: int,
    partitions: int = 2,
    sasl_port: int | None = None,
    sasl_users: dict[str, str] | None = None,
) -> str:
    # Small internal topics and no rebalance delay: a one-node broker for development and tests.
    return f"""\
process.roles=broker,controller
node.id=1
{_listeners(port, controller_port, sasl_port, sasl_users or {})}controller.listener.names=CONTROLLER
controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}
log.dirs={data_dir / "logs"}
num.partitions={partitions}
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.segment.bytes=104857600
log.retention.hours=168
"""


# A small heap and the serial collector: one light broker on a 2-core machine. Producing and twice
# consuming a million events peaked at 344 MB resident (466 MB with G1 and 384 MB of heap), with
# less CPU and GC pauses under 35 ms.
def _java(libs: Path, *args: str, heap: str = "256m") -> list[str]:
    java = shutil.which("java")
    if java is None:
        raise BrokerError("java is not on PATH: install a JDK 17+ (apt-get install openjdk-17-jre-headless)")
    return [
        java,
        f"-Xmx{heap}",
        "-Xms64m",
        "-XX:+UseSerialGC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        "-cp",
        f"{libs}/*",
        *args,
    ]


def format_storage(libs: Path, config: Path, data_dir: Path) -> None:
    if (data_dir / "logs" / "meta.properties").exists():
        return  # formatted before: keep the data
    cluster_id = (
        subprocess.run(
            _java(libs, "kafka.tools.StorageTool", "random-uuid", heap="128m"),
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    result = subprocess.run(
        _java(
            libs, "kafka.tools.StorageTool", "format", "--standalone", "-t", cluster_id, "-c", str(config), heap="256m"
        ),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BrokerError(f"formatting Kafka storage in {data_dir} failed:\n{result.stdout}{result.stderr}")


@dataclass
class Broker:
    process: Background
    port: int
    controller_port: int
    data_dir: Path
    startup_seconds: float
    sasl_port: int | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        # controlled shutdown of a one-node KRaft broker takes a few seconds
        self.process.stop(timeout=30)


def broker_ready(bootstrap: str, timeout: float = 2.0) -> bool:
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0, "logger": _quiet_logger()})
    md = admin.list_topics(timeout=timeout)
    return bool(md.brokers)


def start_broker(
    data_dir: Path,
    port: int,
    controller_port: int,
    log_file: Path,
    *,
    pid_file: Path | None = None,
    partitions: int = 2,
    timeout: float = 90.0,
    sasl_port: int | None = None,
    sasl_users: dict[str, str] | None = None,
) -> Broker:
    """Fetch (once), format (once) and start a broker; return when it accepts clients.

    With ``sasl_port`` and ``sasl_users`` it also listens there for SASL/PLAIN logins."""
    libs = ensure_kafka_libs()
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "server.properties"
    config.write_text(server_properties(data_dir, port, controller_port, partitions, sasl_port, sasl_users))
    format_storage(libs, config, data_dir)
    proc = spawn("kafka", _java(libs, "kafka.Kafka", str(config)), log_file, pid_file=pid_file)
    bootstrap = f"127.0.0.1:{port}"
    took = wait_until(
        lambda: broker_ready(bootstrap),
        what=f"Kafka broker on {bootstrap}",
        timeout=timeout,
        process=proc,
        interval=0.5,
    )
    return Broker(proc, port, controller_port, data_dir, took, sasl_port)


def _quiet_logger():
    import logging

    logger = logging.getLogger("dids.kafka.admin")
    logger.setLevel(logging.CRITICAL)
    return logger
