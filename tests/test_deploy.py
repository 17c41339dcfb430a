"""The deployment files (deploy/) agree with the code and with each other.

docs/operations.md deploys from these files: systemd units that must
start the right programs with the right settings, an nginx site that must keep
addresses out of its log and hand Django its request id, an env file that must name
settings that exist, Redis settings that must not lose or evict the broker's messages.
Each test reads the shipped files as they are; the last ones run the nginx site under
a real nginx, with the harness of tests/articles/test_nginx.py.
"""

import importlib
import ipaddress
import json
import re
import runpy
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from celery import Celery
from celery.utils.nodenames import host_format
from django.conf import settings
from django.core.management import get_commands, load_command_class

from tests.articles import test_nginx as nginx_harness
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
NGINX_CONF = DEPLOY / "nginx" / "signalement.conf"
ENV_EXAMPLE = DEPLOY / "env.example"
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"
OPERATIONS = ROOT / "docs" / "operations.md"

APP_DIR = "/srv/signalement/app"
VENV_BIN = "/srv/signalement/venv/bin/"
ENVIRONMENT_FILE = "/etc/signalement/env"
MULTIPROC_DIR = "/run/signalement/metrics"
TARGET = "signalement.target"
MIB = 1024 * 1024


# --- systemd units ---------------------------------------------------------------------


@dataclass
class Unit:
    """A unit file as systemd reads it: sections of keys, a repeated key adding values
    (and an empty value clearing them), comments starting with # or ;."""

    name: str
    sections: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def values(self, section: str, key: str) -> list[str]:
        return self.sections.get(section, {}).get(key, [])

    def value(self, section: str, key: str) -> str:
        values = self.values(section, key)
        assert len(values) == 1, f"{self.name}: [{section}] {key}= set {len(values)} times"
        return values[0]

    def environment(self) -> dict[str, str]:
        pairs = {}
        for value in self.values("Service", "Environment"):
            for assignment in shlex.split(value):
                name, _, setting = assignment.partition("=")
                pairs[name] = setting
        return pairs


def parse_unit(path: Path) -> Unit:
    unit = Unit(name=path.name)
    section = None
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        assert not line.endswith("\\"), f"{path.name}:{number}: continuation lines not expected"
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            unit.sections.setdefault(section, {})
            continue
        assert section is not None, f"{path.name}:{number}: a setting outside any section"
        key, sep, value = line.partition("=")
        assert sep, f"{path.name}:{number}: not key=value: {line!r}"
        values = unit.sections[section].setdefault(key.strip(), [])
        if value.strip():
            values.append(value.strip())
        else:
            values.clear()
    return unit


def expand_specifiers(value: str, *, instance: str = "", hostname: str = "news-a") -> str:
    """What systemd hands the program: %i the instance, %H the host name, %% a %."""
    parts = value.split("%%")
    parts = [part.replace("%i", instance).replace("%H", hostname) for part in parts]
    return "%".join(parts)


def services() -> dict[str, Unit]:
    return {path.name: parse_unit(path) for path in sorted(UNITS.glob("*.service"))}


def exec_start(unit: Unit, *, instance: str = "") -> list[str]:
    return shlex.split(expand_specifiers(unit.value("Service", "ExecStart"), instance=instance))


def test_the_units_are_the_documented_ones():
    assert sorted(path.name for path in UNITS.iterdir()) == [
        "signalement-beat.service",
        "signalement-metrics.service",
        "signalement-web.service",
        "signalement-worker@.service",
        "signalement.target",
    ]
    target = parse_unit(UNITS / TARGET)
    assert target.value("Install", "WantedBy") == "multi-user.target"


def test_every_service_runs_as_the_app_with_the_same_settings_and_metrics_directory():
    for name, unit in services().items():
        # given any Signalement service: then it runs the checkout as the service user
        assert unit.value("Service", "User") == "signalement", name
        assert unit.value("Service", "WorkingDirectory") == APP_DIR, name
        assert unit.value("Service", "Restart") == "on-failure", name
        # with the one settings file of the machine
        assert unit.values("Service", "EnvironmentFile") == [ENVIRONMENT_FILE], name
        # and the machine's one metrics directory, created by whichever starts first and
        # never removed when one stops (the others still write there)
        assert unit.environment().get("PROMETHEUS_MULTIPROC_DIR") == MULTIPROC_DIR, name
        assert unit.value("Service", "RuntimeDirectory") == MULTIPROC_DIR.removeprefix("/run/")
        assert unit.value("Service", "RuntimeDirectoryPreserve") == "yes", name
        # started and restarted with the machine's target
        assert unit.value("Unit", "PartOf") == TARGET, name
        assert unit.value("Install", "WantedBy") == TARGET, name


def test_every_service_is_confined():
    for name, unit in services().items():
        assert unit.value("Service", "NoNewPrivileges") == "yes", name
        assert unit.value("Service", "ProtectSystem") == "strict", name
        assert unit.value("Service", "PrivateTmp") == "yes", name
        assert unit.value("Service", "ProtectHome") == "yes", name
        assert unit.values("Service", "CapabilityBoundingSet") == [], name


def test_the_processes_that_write_media_may_write_the_media_root_nginx_serves():
    env = env_example()
    units = services()
    # the web stores uploads (required), a worker writes renditions (where mounted)
    assert units["signalement-web.service"].values("Service", "ReadWritePaths") == [
        env["MEDIA_ROOT"]
    ]
    assert units["signalement-worker@.service"].values("Service", "ReadWritePaths") == [
        "-" + env["MEDIA_ROOT"]
    ]
    assert f"alias {env['MEDIA_ROOT']}/;" in NGINX_CONF.read_text()


def test_every_exec_start_runs_a_program_of_the_venv_on_code_that_exists():
    for name, unit in services().items():
        argv = exec_start(unit, instance="moderation")
        program = argv[0]
        assert program.startswith(VENV_BIN), (name, program)
        # the venv the tests run in has the same requirements installed
        assert (Path(sys.prefix) / "bin" / program.removeprefix(VENV_BIN)).exists(), program


def test_the_web_unit_starts_gunicorn_with_the_shipped_config_on_the_wsgi_application():
    argv = exec_start(services()["signalement-web.service"])

    assert argv[0] == VENV_BIN + "gunicorn"
    config = argv[argv.index("-c") + 1]
    assert (ROOT / config).resolve() == GUNICORN_CONF
    module, _, attribute = argv[-1].partition(":")
    assert callable(getattr(importlib.import_module(module), attribute or "application"))


def celery_app_of(argv: list[str]) -> Celery:
    module, _, attribute = argv[argv.index("-A") + 1].partition(":")
    app = getattr(importlib.import_module(module), attribute)
    assert isinstance(app, Celery)
    return app


def celery_command_of(argv: list[str]) -> str:
    """The subcommand, after Celery's own options; --quiet among them, because the
    banner it drops prints the broker's address outside the JSON lines."""
    command = next(arg for arg in argv[argv.index("-A") + 2 :] if not arg.startswith("-"))
    assert "--quiet" in argv[: argv.index(command)]
    return command


def test_the_worker_template_consumes_the_queue_its_instance_names():
    template = services()["signalement-worker@.service"]
    for queue in ("moderation", "images"):
        # when systemd starts signalement-worker@<queue>
        argv = exec_start(template, instance=queue)

        # then it is a Celery worker of the project's app, on that queue only, and its
        # node name is one Celery can expand (queue@host)
        assert argv[0] == VENV_BIN + "celery"
        celery_app_of(argv)
        assert celery_command_of(argv) == "worker"
        assert argv[argv.index("-Q") + 1] == queue
        node = argv[argv.index("--hostname") + 1]
        assert host_format(node, host="news-b.example.org") == f"{queue}@news-b.example.org"


def test_workers_stop_gracefully_and_wait_longer_than_the_longest_task():
    unit = services()["signalement-worker@.service"]

    # TERM to the main process only: Celery's warm shutdown finishes the running tasks
    assert unit.value("Service", "KillSignal") == "SIGTERM"
    assert unit.value("Service", "KillMode") == "mixed"
    # a task is killed at CELERY_TASK_TIME_LIMIT: systemd waits longer than that
    assert int(unit.value("Service", "TimeoutStopSec")) > settings.CELERY_TASK_TIME_LIMIT
    assert settings.CELERY_TASK_ACKS_LATE


def test_exactly_one_beat_unit_keeps_its_schedule_in_its_state_directory():
    beats = {
        name: unit
        for name, unit in services().items()
        if " beat" in unit.value("Service", "ExecStart")
    }
    assert list(beats) == ["signalement-beat.service"]

    argv = exec_start(beats["signalement-beat.service"])
    celery_app_of(argv)
    assert celery_command_of(argv) == "beat"
    schedule = Path(argv[argv.index("--schedule") + 1])
    state = beats["signalement-beat.service"].value("Service", "StateDirectory")
    assert schedule.parent == Path("/var/lib") / state


def test_the_metrics_unit_runs_the_metrics_server_command_with_arguments_it_accepts():
    unit = services()["signalement-metrics.service"]
    argv = exec_start(unit)
    assert argv[:2] == [VENV_BIN + "python", "manage.py"]
    assert (ROOT / "manage.py").exists()
    name, arguments = argv[2], argv[3:]
    assert name in get_commands()

    # the unit's defaults stand in for its ${VARIABLES}, as systemd expands them
    defaults = unit.environment()
    arguments = [re.sub(r"\$\{(\w+)\}", lambda m: defaults[m[1]], arg) for arg in arguments]
    command = load_command_class(get_commands()[name], name)
    options = command.create_parser("manage.py", name).parse_args(arguments)
    assert options.port == 9808
    # listening on loopback until a drop-in gives the machine's private address
    assert ipaddress.ip_address(options.address).is_loopback


# --- which units each documented deployment enables ---------------------------------------


def operations_section(title: str) -> str:
    """docs/operations.md's `## title` section, down to the next `## ` heading."""
    lines = OPERATIONS.read_text().splitlines()
    starts = [i for i, line in enumerate(lines) if line == f"## {title}"]
    assert len(starts) == 1, f"docs/operations.md: expected one '## {title}' heading"
    section = []
    for line in lines[starts[0] + 1 :]:
        if line.startswith("## "):
            break
        section.append(line)
    return "\n".join(section)


def enabled_units(line: str) -> list[str]:
    words = line.split("systemctl enable", 1)[1].split()
    return [word.removesuffix(".service") for word in words if word[0] != "-"]


def enabled_per_machine(section: str) -> list[list[str]]:
    """Each `systemctl enable` line of a section that enables Signalement's services is one
    machine's services (others enable what Signalement runs on, such as a Redis)."""
    machines = []
    for line in section.splitlines():
        if "systemctl enable" in line:
            units = enabled_units(line)
            if any(unit.startswith("signalement") for unit in units):
                machines.append(units)
    return machines


@pytest.mark.parametrize("deployment", ["One machine", "Two machines, step by step"])
def test_each_documented_deployment_has_one_worker_per_queue_one_beat_and_a_web(deployment):
    machines = enabled_per_machine(operations_section(deployment))
    assert machines, f"docs/operations.md, {deployment}: no systemctl enable line"
    everything = [unit for machine in machines for unit in machine]
    known = {path.name.removesuffix(".service") for path in UNITS.iterdir()}

    for unit in everything:
        template = re.sub(r"@.+$", "@", unit)
        assert template in known, f"{deployment}: enables {unit}, which is not shipped"
    # every machine enables the target its services are wanted by
    assert all(TARGET in machine for machine in machines), deployment
    # every queue of the settings has its worker, and no worker waits on an unknown queue
    workers = sorted(u.removeprefix("signalement-worker@") for u in everything if "@" in u)
    assert workers == sorted(queue.name for queue in settings.CELERY_TASK_QUEUES), deployment
    assert everything.count("signalement-beat") == 1, deployment
    assert "signalement-web" in everything, deployment
    # a machine without web serves its figures with the metrics server, one with web does not
    for machine in machines:
        assert ("signalement-metrics" in machine) != ("signalement-web" in machine), machine


# --- nginx -------------------------------------------------------------------------------


@dataclass
class Directive:
    name: str
    args: list[str]
    block: list["Directive"] | None = None

    def children(self, name: str) -> list["Directive"]:
        return [child for child in self.block or [] if child.name == name]

    def walk(self):
        yield self
        for child in self.block or []:
            yield from child.walk()


def nginx_tokens(text: str):
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char == "#":
            end = text.find("\n", i)
            i = len(text) if end == -1 else end
        elif char in "{};":
            yield char
            i += 1
        elif char in "'\"":
            end = text.index(char, i + 1)
            while text[end - 1] == "\\":
                end = text.index(char, end + 1)
            yield text[i + 1 : end]
            i = end + 1
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in "{};":
                i += 1
            yield text[start:i]


def parse_nginx(text: str) -> Directive:
    tokens = nginx_tokens(text)

    def block() -> list[Directive]:
        directives, words = [], []
        for token in tokens:
            if token == ";":
                directives.append(Directive(words[0], words[1:]))
                words = []
            elif token == "{":
                directives.append(Directive(words[0], words[1:], block()))
                words = []
            elif token == "}":
                assert not words, words
                return directives
            else:
                words.append(token)
        assert not words, words
        return directives

    return Directive("http", [], block())


def shipped_nginx() -> Directive:
    return parse_nginx(NGINX_CONF.read_text())


def server_of(http: Directive) -> Directive:
    (server,) = http.children("server")
    return server


def nginx_size(value: str) -> int:
    units = {"k": 1024, "m": MIB, "g": 1024 * MIB}
    return int(value[:-1]) * units[value[-1].lower()] if value[-1].isalpha() else int(value)


def nginx_seconds(value: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60}
    number, unit = re.fullmatch(r"(\d+)(ms|s|m)?", value).groups()
    return int(number) * units[unit or "s"]


# What would identify a reader, or leak a secret, in a log line.
IDENTIFYING = re.compile(
    r"\$(remote_addr|binary_remote_addr|realip_remote_addr|remote_user|"
    r"http_x_forwarded_for|proxy_add_x_forwarded_for|http_x_real_ip|http_cookie|cookie_\w+|"
    r"http_authorization|http_user_agent|http_referer|request|request_uri|args|"
    r"query_string|arg_\w+|request_body)\b"
)


def test_the_access_log_uses_a_format_without_addresses_cookies_or_query_strings():
    http = shipped_nginx()
    formats = {
        d.args[0]: "".join(arg for arg in d.args[1:] if not arg.startswith("escape="))
        for d in http.children("log_format")
    }
    access_logs = [d for d in http.walk() if d.name == "access_log"]
    assert access_logs, "the site must set its own access_log (nginx's default logs addresses)"

    for access_log in access_logs:
        if access_log.args == ["off"]:
            continue
        # a format named, and defined here: without one nginx uses "combined" ($remote_addr)
        assert len(access_log.args) >= 2, access_log.args
        log_format = formats[access_log.args[1]]
        assert not IDENTIFYING.findall(log_format), IDENTIFYING.findall(log_format)
        assert "$request_id" in log_format
        # JSON, for jq: a line of the format with every variable filled is a JSON object
        sample = re.sub(r"\$\w+", "1", log_format)
        assert isinstance(json.loads(sample), dict)


def test_the_identifying_check_catches_what_nginx_logs_by_default():
    # nginx's "combined" format, which the check must refuse
    combined = (
        '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
        '"$http_referer" "$http_user_agent"'
    )
    assert set(IDENTIFYING.findall(combined)) == {
        "remote_addr",
        "remote_user",
        "request",
        "http_referer",
        "http_user_agent",
    }
    assert not IDENTIFYING.findall("$request_id $request_method $request_time $status")


def test_every_proxied_location_sends_the_request_id_and_the_forwarding_headers():
    locations = [d for d in server_of(shipped_nginx()).walk() if d.name == "location"]
    proxied = [location for location in locations if location.children("proxy_pass")]
    assert len(proxied) >= 4, [location.args for location in proxied]

    for location in proxied:
        # proxy_set_header lines of a location replace the server's: each one sets its own
        headers = {d.args[0].lower(): d.args[1] for d in location.children("proxy_set_header")}
        assert headers.get("x-request-id") == "$request_id", location.args
        # TRUSTED_PROXY_COUNT=1 reads the address nginx appends, and the scheme it saw
        assert headers.get("x-forwarded-for") == "$proxy_add_x_forwarded_for", location.args
        assert headers.get("x-forwarded-proto") == "$scheme", location.args


def test_the_upload_limit_leaves_django_room_to_refuse_an_oversized_file_itself():
    server = server_of(shipped_nginx())
    (limit,) = server.children("client_max_body_size")

    assert nginx_size(limit.args[0]) >= settings.IMAGE_UPLOAD_MAX_BYTES + MIB


def test_request_sizes_and_timeouts_are_stated_and_outlast_gunicorns():
    server = server_of(shipped_nginx())
    stated = {d.name: d.args for d in server.block}

    for name in (
        "client_header_buffer_size",
        "large_client_header_buffers",
        "client_header_timeout",
        "client_body_timeout",
        "send_timeout",
        "proxy_connect_timeout",
        "proxy_read_timeout",
    ):
        assert name in stated, f"{NGINX_CONF.name} does not state {name}"
    # gunicorn kills a stuck worker first: nginx then answers 502, not a timeout mid-answer
    gunicorn = runpy.run_path(str(GUNICORN_CONF))
    assert nginx_seconds(stated["proxy_read_timeout"][0]) > gunicorn["timeout"]


def test_metrics_are_proxied_to_the_monitoring_network_only():
    server = server_of(shipped_nginx())
    (metrics,) = [d for d in server.walk() if d.name == "location" and d.args == ["=", "/metrics"]]
    rules = [(d.name, d.args[0]) for d in metrics.block if d.name in ("allow", "deny")]

    assert rules[-1] == ("deny", "all")
    assert all(name == "allow" and arg != "all" for name, arg in rules[:-1]), rules
    assert metrics.children("proxy_pass")


def test_the_media_accel_prefix_and_static_root_match_the_env_example():
    env = env_example()
    server = server_of(shipped_nginx())
    locations = {tuple(d.args): d for d in server.walk() if d.name == "location"}

    internal = locations[(env["MEDIA_ACCEL_REDIRECT_PREFIX"],)]
    assert internal.children("internal")
    assert internal.children("alias")[0].args == [env["MEDIA_ROOT"] + "/"]
    assert locations[("/static/",)].children("alias")[0].args == [env["STATIC_ROOT"] + "/"]
    # /media/ itself always goes to Django's visibility check
    assert not locations[("/media/",)].children("alias")
    assert locations[("/media/",)].children("proxy_pass")


# --- the env file --------------------------------------------------------------------------


def env_example() -> dict[str, str]:
    """NAME=value lines of deploy/env.example, active ones only."""
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line)
        if match:
            values[match[1]] = match[2]
    return values


def named_in_env_example() -> set[str]:
    """Every NAME=, set or commented out (`# NAME=default`)."""
    text = ENV_EXAMPLE.read_text()
    return set(re.findall(r"^(?:# )?([A-Z][A-Z0-9_]*)=", text, flags=re.MULTILINE))


def settings_read_from_the_environment() -> set[str]:
    source = (ROOT / "newsroom" / "settings.py").read_text()
    return set(re.findall(r"\benv_[a-z]+\(\s*\"([A-Z][A-Z0-9_]*)\"", source))


def gunicorn_settings() -> set[str]:
    return set(re.findall(r"os\.environ\.get\(\"([A-Z][A-Z0-9_]*)\"", GUNICORN_CONF.read_text()))


def test_the_env_example_names_only_settings_that_are_read():
    known = settings_read_from_the_environment() | gunicorn_settings()
    # read by prometheus-client itself; the units set it
    known.add("PROMETHEUS_MULTIPROC_DIR")

    unknown = named_in_env_example() - known
    assert not unknown, f"deploy/env.example names settings nothing reads: {sorted(unknown)}"


def test_the_settings_reader_sees_multiline_calls_and_misses_nothing():
    # the scan finds the settings docs/configuration.md documents as required
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "IMAGE_UPLOAD_MAX_BYTES"} <= (
        settings_read_from_the_environment()
    )
    assert {"GUNICORN_BIND", "GUNICORN_WORKERS"} <= gunicorn_settings()


def test_the_env_example_sets_what_production_needs():
    env = env_example()

    for name in (
        "SECRET_KEY",
        "IP_HASH_KEY",
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "DATABASE_URL",
        "REDIS_URL",
        "THROTTLE_REDIS_URL",
        "METRICS_TOKEN",
        "MEDIA_ROOT",
        "STATIC_ROOT",
    ):
        assert env.get(name), name
    assert env["TRUSTED_PROXY_COUNT"] == "1"
    assert env["SERVE_MEDIA"] == "1"
    assert env["HTTPS"] == "1"
    assert env["DATABASE_URL"].startswith("postgres://")
    assert "PROMETHEUS_MULTIPROC_DIR" not in env  # the units set it, one per machine
    assert "DEBUG" not in env
    # the throttles' counters are kept apart from the broker's messages
    assert env["THROTTLE_REDIS_URL"] != env["REDIS_URL"]
    assert env["REDIS_URL"].endswith("/0")


# --- Redis -------------------------------------------------------------------------------


def redis_conf(name: str) -> dict[str, str]:
    values = {}
    for line in (DEPLOY / "redis" / name).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.strip().partition(" ")
            values[key.lower()] = value.strip()
    return values


def test_the_broker_keeps_its_messages_and_never_evicts_them():
    broker = redis_conf("signalement-broker.conf")

    assert broker["appendonly"] == "yes"
    assert broker["appendfsync"] == "everysec"
    assert broker["maxmemory-policy"] == "noeviction"
    assert broker["protected-mode"] == "yes"
    assert "0.0.0.0" not in broker["bind"]


def test_the_throttles_instance_is_disposable_and_apart_from_the_broker():
    cache = redis_conf("signalement-cache.conf")

    assert cache["maxmemory-policy"] == "allkeys-lru"
    # a bound to evict within: without maxmemory, allkeys-lru never evicts anything
    assert memory_bytes(cache["maxmemory"]) >= 64 * MIB
    assert cache["appendonly"] == "no"
    assert cache["save"] == '""'
    assert cache["protected-mode"] == "yes"
    assert "0.0.0.0" not in cache["bind"]
    assert cache["port"] != redis_conf("signalement-broker.conf")["port"]


def test_the_env_example_never_points_the_throttles_at_the_brokers_instance():
    env = env_example()
    broker, throttles = urlsplit(env["REDIS_URL"]), urlsplit(env["THROTTLE_REDIS_URL"])

    # another instance (host and port), not another database of the same one
    assert (throttles.hostname, throttles.port or 6379) != (broker.hostname, broker.port or 6379)
    # and each URL reaches the instance its conf describes, on an address it binds
    for url, conf in ((broker, "signalement-broker.conf"), (throttles, "signalement-cache.conf")):
        values = redis_conf(conf)
        assert (url.port or 6379) == int(values["port"]), conf
        assert url.hostname in values["bind"].split(), conf


def test_the_documented_deployment_runs_the_throttles_instance_as_debian_expects():
    section = operations_section("Two machines, step by step")
    cache = redis_conf("signalement-cache.conf")
    template = Path("/lib/systemd/system/redis-server@.service")
    enabled = [
        unit
        for line in section.splitlines()
        if "systemctl enable" in line
        for unit in enabled_units(line)
        if unit.startswith("redis-server@")
    ]

    # one instance of Debian's template is enabled
    assert len(enabled) == 1, enabled
    instance = enabled[0].removeprefix("redis-server@")
    # from the shipped conf, installed where the template reads it, readable by redis only
    assert (
        f"install -o redis -g redis -m 0640 /srv/signalement/app/deploy/redis/"
        f"signalement-cache.conf /etc/redis/redis-{instance}.conf"
    ) in section
    # the conf says what the template's unit expects (Type=notify, its PIDFile)
    assert cache["supervised"] == "systemd"
    assert cache["daemonize"] == "no"
    assert cache["pidfile"] == f"/run/redis-{instance}/redis-server.pid"
    if template.exists():  # Debian's redis-server package on this machine
        unit = parse_unit(template)
        assert unit.value("Service", "PIDFile").replace("%i", instance) == cache["pidfile"]
        assert unit.value("Service", "Type") == "notify"
        assert "/etc/redis/redis-%i.conf" in unit.value("Service", "ExecStart")


def memory_bytes(value: str) -> int:
    """A Redis memory size: 256mb, 1gb, 100000 (bytes)."""
    match = re.fullmatch(r"(\d+)(kb|mb|gb|k|m|g)?", value.lower())
    assert match, value
    units = {None: 1, "k": 1000, "kb": 1024, "m": 10**6, "mb": MIB, "g": 10**9, "gb": 1024 * MIB}
    return int(match[1]) * units[match[2]]


@pytest.fixture
def shipped_redis(tmp_path):
    """Starts redis-server with a shipped conf on a free loopback port, its files in
    tmp_path and a small maxmemory (later arguments override the conf's lines)."""
    started = []

    def start(conf: str, maxmemory: str) -> redis.Redis:
        port = free_port()
        workdir = tmp_path / conf
        workdir.mkdir()
        overrides = {
            "port": str(port),
            "bind": "127.0.0.1",
            "dir": str(workdir),
            "maxmemory": maxmemory,
            "pidfile": str(workdir / "pid"),
            "supervised": "no",
            "daemonize": "no",
            "logfile": str(workdir / "log"),
        }
        argv = ["redis-server", str(DEPLOY / "redis" / conf)]
        for name, value in overrides.items():
            argv += [f"--{name}", value]
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
        started.append(process)
        client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return client
            except redis.ConnectionError:
                assert process.poll() is None, (workdir / "log").read_text()
                assert time.monotonic() < deadline, "redis-server did not answer"
                time.sleep(0.05)

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def flood_with_counters(client: redis.Redis, count: int) -> list[Exception]:
    """Writes `count` counters as the limiter does (INCR, then EXPIRE NX), keyed as an
    address's would be; returns the errors Redis answered."""
    errors = []
    for start in range(0, count, 1000):
        with client.pipeline(transaction=False) as pipe:
            for n in range(start, min(start + 1000, count)):
                key = f"signalement:limit:ip:{n:064x}:86400"
                pipe.incr(key)
                pipe.expire(key, 86400, nx=True)
            errors += [r for r in pipe.execute(raise_on_error=False) if isinstance(r, Exception)]
    return errors


def test_the_throttles_instance_evicts_when_full_and_the_broker_refuses(shipped_redis):
    # given each shipped conf run by a real redis-server, with 4 MB of memory
    cache = shipped_redis("signalement-cache.conf", "4mb")
    broker = shipped_redis("signalement-broker.conf", "4mb")

    # when a flood of addresses writes 50,000 counters (about 10 MB) to each
    cache_errors = flood_with_counters(cache, 50_000)
    broker_errors = flood_with_counters(broker, 50_000)

    # then the throttles' instance took every write, evicting old counters to stay within
    assert cache_errors == []
    assert cache.info("stats")["evicted_keys"] > 0
    assert cache.dbsize() < 50_000
    # and the broker's refused writes rather than drop a key (its messages, in production)
    assert broker_errors
    assert all(isinstance(error, redis.OutOfMemoryError) for error in broker_errors)
    assert broker.info("stats")["evicted_keys"] == 0


# --- the site under a real nginx -----------------------------------------------------------

SYSLOG = "syslog:server=unix:/dev/log,tag=signalement_nginx,nohostname"


def test_nginx_accepts_the_shipped_site(tmp_path):
    # given the site with the test's paths and ports, as tests/articles/test_nginx.py runs it
    server_conf = tmp_path / "signalement.conf"
    server_conf.write_text(
        nginx_harness.server_block(
            port=free_port(),
            upstream="127.0.0.1:9",
            media_root=tmp_path / "media",
            static_root=tmp_path / "static",
        )
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_harness.main_conf(tmp=tmp_path, server_conf=server_conf))

    # when nginx checks it, then it is valid
    check = subprocess.run(
        [
            nginx_harness.find_nginx(),
            "-t",
            *("-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(conf)),
        ],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr


@pytest.fixture
def access_log(monkeypatch, tmp_path) -> Path:
    """The site's access log sent to a file instead of journald, for the `nginx` fixture."""
    log = tmp_path / "access.json.log"
    shipped = nginx_harness.server_block

    def server_block(**kwargs) -> str:
        return nginx_harness.substitute(shipped(**kwargs), {SYSLOG: str(log)})

    monkeypatch.setattr(nginx_harness, "server_block", server_block)
    return log


# tests/articles/test_nginx.py's fixture: the shipped site in front of the live server.
nginx = nginx_harness.nginx


def logged_lines(log: Path, count: int) -> list[dict]:
    deadline = time.monotonic() + 5
    while True:
        lines = log.read_text().splitlines() if log.exists() else []
        if len(lines) >= count or time.monotonic() > deadline:
            return [json.loads(line) for line in lines]
        time.sleep(0.05)


def test_nginx_hands_django_its_request_id_and_logs_no_address(access_log, nginx):
    # given a reader with a cookie, who claims an address in X-Forwarded-For
    cookie = "sessionid=cookie-value-that-must-not-be-logged"
    forged = "203.0.113.77"

    # when they ask for a page with a query string
    response = nginx.get(
        "/api/articles/?page=1&q=query-that-must-not-be-logged",
        headers={"Cookie": cookie, "X-Forwarded-For": forged},
    )

    # then Django answered with the id nginx made (sent as X-Request-ID), and nginx's
    # line carries that id, the path without its query, and nothing that names the reader
    assert response.status_code == 200
    request_id = response.headers["X-Request-ID"]
    (line,) = logged_lines(access_log, 1)
    assert line["request_id"] == request_id
    assert line["path"] == "/api/articles/"
    assert line["status"] == 200
    raw = access_log.read_text()
    for secret in ("127.0.0.1", forged, "cookie-value", "query-that-must-not", "page=1"):
        assert secret not in raw, secret


def test_nginx_answers_probes_and_metrics_by_address_with_the_sites_name(access_log, nginx):
    # given a prober that names the machine by its address, not the site's name
    by_address = {"Host": "10.0.0.11"}

    # when it asks for the probe and the figures (from loopback, which may read them)
    health = nginx.get("/healthz", headers=by_address)
    metrics = nginx.get("/metrics", headers=by_address)
    page = nginx.get("/api/articles/", headers=by_address)

    # then nginx named the site to Django, which answered; an ordinary page by address
    # is still refused (ALLOWED_HOSTS)
    assert health.status_code == 200, health.text
    assert metrics.status_code == 200
    assert "signalement_reports_received_total" in metrics.text
    assert page.status_code == 400
