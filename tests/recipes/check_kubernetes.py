"""Checks deploy/kubernetes/echo-server.yaml against what echo_server does.

    python3 tests/recipes/check_kubernetes.py deploy/kubernetes/echo-server.yaml

Run by check_units.sh when python3 has the yaml module. Prints one line per check and
exits 1 if any failed.
"""

import sys

import yaml


def main(path):
    with open(path, encoding="utf-8") as f:
        documents = [d for d in yaml.safe_load_all(f) if d]
    by_kind = {}
    for d in documents:
        by_kind.setdefault(d.get("kind"), []).append(d)
    failures = []

    def check(ok, message):
        print(("ok: " if ok else "FAIL: ") + message)
        if not ok:
            failures.append(message)
        return ok

    for kind in ("ConfigMap", "Deployment", "Service"):
        if not check(len(by_kind.get(kind, [])) == 1, f"exactly one {kind}"):
            return 1
    config_map = by_kind["ConfigMap"][0]
    deployment = by_kind["Deployment"][0]
    service = by_kind["Service"][0]
    pod = deployment["spec"]["template"]["spec"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    if not check(len(pod["containers"]) == 1, "one container"):
        return 1
    container = pod["containers"][0]

    # The program must be PID 1 to get the kubelet's SIGTERM: no shell in between.
    command = container.get("command", [])
    check(len(command) == 1 and command[0].endswith("/echo_server"),
          f"command runs echo_server directly (exec form): {command}")

    args = [str(a) for a in container.get("args", [])]
    flags = {}
    for i in range(0, len(args) - 1, 2):
        if not args[i].startswith("--"):
            check(False, f"args come as --flag value pairs: {args}")
            return 1
        flags[args[i]] = args[i + 1]
    if not check(len(args) % 2 == 0, "args come as --flag value pairs"):
        return 1

    delay = float(flags.get("--accept-delay", "0"))
    grace = float(flags.get("--grace", "5"))  # the program's default
    period = pod.get("terminationGracePeriodSeconds", 30)  # Kubernetes' default
    check(period > delay + grace,
          f"terminationGracePeriodSeconds {period} > --accept-delay {delay:g}"
          f" + --grace {grace:g} (margin {period - delay - grace:g} s)")
    check(delay > 0, f"--accept-delay {delay:g} > 0 (keeps accepting while the"
          " endpoint removal spreads)")
    # The arithmetic above assumes SIGTERM comes right at the deletion.
    check("preStop" not in container.get("lifecycle", {}),
          "no preStop hook (--accept-delay does its job; it would eat into the grace period)")
    check(flags.get("--host") in ("0.0.0.0", "::"),
          f"--host {flags.get('--host')} listens on the pod IP")

    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}

    def resolve(port):
        return ports.get(port) if isinstance(port, str) else port

    check("--port" in flags and ports.get("echo") == int(flags["--port"]),
          f"container port 'echo' {ports.get('echo')} = --port {flags.get('--port')}")
    check("--health-port" in flags and ports.get("health") == int(flags["--health-port"]),
          f"container port 'health' {ports.get('health')} = --health-port"
          f" {flags.get('--health-port')}")
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/livez")):
        get = container.get(probe, {}).get("httpGet", {})
        check(get.get("path") == path and resolve(get.get("port")) == ports.get("health"),
              f"{probe} gets {path} on the health port (has {get.get('path')} on"
              f" {get.get('port')})")

    # --config names a file of the ConfigMap, through a mount of the whole directory.
    config = flags.get("--config", "")
    directory, _, name = config.rpartition("/")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    mounted = [m for m in container.get("volumeMounts", []) if m["mountPath"] == directory]
    check(len(mounted) == 1 and "subPath" not in mounted[0]
          and volumes.get(mounted[0]["name"], {}).get("configMap", {}).get("name")
          == config_map["metadata"]["name"],
          f"{directory} is the ConfigMap {config_map['metadata']['name']}, mounted whole")
    check(name in config_map.get("data", {}), f"the ConfigMap has {name}")

    selector = service["spec"]["selector"]
    check(all(labels.get(k) == v for k, v in selector.items()),
          f"the Service selects the pods ({selector})")
    targets = [resolve(p.get("targetPort", p["port"])) for p in service["spec"]["ports"]]
    check(targets == [ports.get("echo")], f"the Service sends to the echo port only ({targets})")

    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
