#!/usr/bin/env python3
"""The Python half of `cargo xtask ironic-parity`: Ironic 39.0.0 against our renderer.

For every node of fixtures/ironic-parity/nodes.json this renders the iPXE script real
Ironic would serve for it, and compares what iPXE would boot with the script our renderer
wrote to target/ironic-parity/ours/<uuid>.ipxe (core/examples/ironic_parity.rs).

Ironic comes from PyPI at test time and is never copied into this repository: the wheel
is fetched with `pip download --no-deps ironic==39.0.0` into target/ironic-parity/wheel/,
installed (with its dependencies) into the venv target/ironic-parity/venv/, and the
template is read out of the wheel zip. Ironic's own functions build the options and the
script (see `ironic_script`); only the steps that talk to a BMC, a DHCP server, Glance or
the database are left out or stood in for, each named where it happens.

Exit status: 0 when every case matches or differs exactly as differences.json records;
1 for an unexpected difference, a recorded difference that now matches (remove it), or a
README table out of date (`--write-readme` rewrites it).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path
from types import SimpleNamespace

IRONIC_VERSION = "39.0.0"
ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "ironic-parity"
WORK = ROOT / "target" / "ironic-parity"
VENV = WORK / "venv"
WHEEL_DIR = WORK / "wheel"
WHEEL = WHEEL_DIR / f"ironic-{IRONIC_VERSION}-py3-none-any.whl"
TEMPLATE_IN_WHEEL = "ironic/drivers/modules/ipxe_config.template"

# Boot interfaces whose node gets an iPXE config (ironic-39.0.0.dist-info/entry_points.txt:
# ipxe = iPXEBoot, http-ipxe = iPXEHttpBoot; both carry the 'ipxe_boot' capability).
IPXE_BOOT_INTERFACES = ("ipxe", "http-ipxe")

# The state in which Ironic wrote the config a node in this state boots from: the config
# of `wait call-back` is the one prepare_ramdisk wrote while `deploying`, and so on.
PREPARED_IN = {
    "deploying": "deploying", "wait call-back": "deploying", "deploy hold": "deploying",
    "cleaning": "cleaning", "clean wait": "cleaning", "clean hold": "cleaning",
    "servicing": "servicing", "service wait": "servicing", "service hold": "servicing",
    "inspecting": "inspecting", "inspect wait": "inspecting",
    "rescuing": "rescuing", "rescue wait": "rescuing",
}
INSPECTION_STATES = ("inspecting", "inspect wait")


# --- the venv ------------------------------------------------------------------------

def in_venv():
    return Path(sys.prefix).resolve() == VENV.resolve()


def bootstrap(argv):
    """Creates or reuses the venv, fetches the wheel, then runs this script in the venv."""
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    if not WHEEL.exists():
        subprocess.run([str(python), "-m", "pip", "download", "--quiet", "--no-deps",
                        f"ironic=={IRONIC_VERSION}", "-d", str(WHEEL_DIR)], check=True, env=env)
    installed = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('ironic'))"],
        capture_output=True, text=True).stdout.strip()
    if installed != IRONIC_VERSION:
        print(f"ironic-parity: installing {WHEEL.name} and its dependencies into {VENV}", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(WHEEL)], check=True, env=env)
    os.execv(str(python), [str(python), str(Path(__file__).resolve()), *argv])


# --- Ironic's side -------------------------------------------------------------------

class FakeNode:
    """The attributes and methods of ironic.objects.Node that the functions called use;
    the real object needs a database behind save()."""

    def __init__(self, api, index):
        self.id = index
        self.uuid = api["uuid"]
        self.provision_state = api["provision_state"]
        self.boot_mode = api.get("boot_mode")
        self.driver_info = json.loads(json.dumps(api.get("driver_info") or {}))
        self.instance_info = json.loads(json.dumps(api.get("instance_info") or {}))
        self.driver_internal_info = json.loads(json.dumps(api.get("driver_internal_info") or {}))
        self.properties = json.loads(json.dumps(api.get("properties") or {}))
        self.automated_clean = api.get("automated_clean")
        self.disable_power_off = api.get("disable_power_off", False)
        self.interfaces = {key[: -len("_interface")]: value for key, value in api.items()
                           if key.endswith("_interface")}

    def get_interface(self, name):
        return self.interfaces.get(name)

    def set_driver_internal_info(self, key, value):
        self.driver_internal_info[key] = value

    def del_driver_internal_info(self, key):
        self.driver_internal_info.pop(key, None)

    def save(self):
        pass


class FakeManagement:
    """The BMC, for sync_boot_mode: it reports the node's `boot_mode` field (Ironic's
    cached copy of what the BMC said) and accepts being set."""

    def __init__(self, node):
        self.node = node

    def validate(self, task):
        pass

    def get_boot_mode(self, task):
        return self.node.boot_mode

    def get_supported_boot_modes(self, task):
        return ["bios", "uefi"]

    def set_boot_mode(self, task, mode):
        self.node.boot_mode = mode

    def set_secure_boot_state(self, task, state):
        pass


class Ironic:
    """Ironic 39.0.0, imported from the venv and configured from conf.json."""

    def __init__(self, conf, scratch):
        warnings.filterwarnings("ignore")
        import logging
        logging.disable(logging.CRITICAL)
        from ironic.common import context, pxe_utils, states
        from ironic.common import utils as common_utils
        from ironic.common import kernel_parameters
        from ironic.conf import CONF
        from ironic.drivers.modules import boot_mode_utils, deploy_utils, inspect_utils
        self.pxe_utils, self.states, self.common_utils = pxe_utils, states, common_utils
        self.context = context
        self.kernel_parameters, self.CONF = kernel_parameters, CONF
        self.boot_mode_utils, self.deploy_utils, self.inspect_utils = boot_mode_utils, deploy_utils, inspect_utils
        from oslo_log import log
        log.register_options(CONF)  # [DEFAULT]debug, as ironic.common.service does
        CONF([], project="ironic", default_config_files=[])
        self.scratch = scratch
        template = scratch / "template" / "ipxe_config.template"
        template.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(WHEEL) as wheel:
            template.write_bytes(wheel.read(TEMPLATE_IN_WHEEL))
        self.base = json.loads(json.dumps(conf))
        # Where the conductor would write; not part of what is compared.
        self.base.setdefault("pxe", {}).update(
            {"ipxe_config_template": str(template), "tftp_root": str(scratch / "tftpboot"),
             "tftp_master_path": str(scratch / "tftpboot" / "master_images"),
             "images_path": str(scratch / "images"), "instance_master_path": str(scratch / "master_images")})
        self.base.setdefault("deploy", {})["http_root"] = str(scratch / "httpboot")
        # No DHCP server to update, no Keystone to ask.
        self.base.setdefault("dhcp", {})["dhcp_provider"] = "none"
        self.base.setdefault("DEFAULT", {}).setdefault("auth_strategy", "noauth")
        self.applied = []

    def configure(self, extra):
        for group, option in self.applied:
            self.CONF.clear_override(option, group=None if group == "DEFAULT" else group)
        self.applied = []
        for layer in (self.base, extra or {}):
            for group, options in layer.items():
                for option, value in options.items():
                    self.CONF.set_override(option, value, group=None if group == "DEFAULT" else group)
                    self.applied.append((group, option))

    def http_path(self, uuid, label):
        return "/".join([self.CONF.deploy.http_url, uuid, label])

    def script(self, api, index):
        """Ironic's script for the node, or None, with the hrefs Ironic serves copies of
        (its URL -> the image reference it caches there) and its boot mode."""
        node = FakeNode(api, index)
        ports = [SimpleNamespace(address=p["address"], extra=p.get("extra") or {}, pxe_enabled=True,
                                 uuid=p.get("uuid"), node_id=index)
                 for p in api.get("_ports", [])]
        task = SimpleNamespace(
            node=node, ports=ports, shared=False, context=self.context.get_admin_context(),
            driver=SimpleNamespace(boot=SimpleNamespace(capabilities=["ipxe_boot", "pxe_boot"], ipxe_enabled=True),
                                   management=FakeManagement(node),
                                   storage=SimpleNamespace(should_write_image=lambda task: True)))
        copies = {}
        boot_interface = api.get("boot_interface") or "ipxe"
        if boot_interface not in IPXE_BOOT_INTERFACES:
            return None, f"boot_interface {boot_interface} writes no iPXE config", copies, None
        state = node.provision_state
        pxe_utils, deploy_utils, states = self.pxe_utils, self.deploy_utils, self.states
        if state in PREPARED_IN:
            node.provision_state = PREPARED_IN[state]
            # The ramdisk parameters: deploy_utils.prepare_agent_boot passes
            # build_agent_options(); inspection, interface.prepare_managed_inspection's dict.
            if state in INSPECTION_STATES:
                params = self.inspection_params(node)
            else:
                params = deploy_utils.build_agent_options(node)
            # pxe_base.PXEBaseMixin.prepare_ramdisk, without DHCP, boot device and caching:
            mode = deploy_utils.rescue_or_deploy_mode(node)
            pxe_info = pxe_utils.get_image_info(node, mode=mode, ipxe_enabled=True)
            if node.provision_state == states.DEPLOYING:
                pxe_info.update(pxe_utils.get_instance_image_info(task, ipxe_enabled=True))
            self.boot_mode_utils.sync_boot_mode(task)
            options = pxe_utils.build_pxe_config_options(task, pxe_info, ipxe_enabled=True,
                                                         ramdisk_params=params)
            pxe_utils.create_pxe_config(task, options, deploy_utils.get_ipxe_config_template(node),
                                        ipxe_enabled=True)
        elif state == states.ACTIVE:
            # pxe_base.PXEBaseMixin.prepare_instance, without boot device and caching:
            self.boot_mode_utils.sync_boot_mode(task)
            boot_option = deploy_utils.get_boot_option(node)
            pxe_info = {}
            if boot_option == "ramdisk":
                pxe_info = pxe_utils.get_instance_image_info(task, ipxe_enabled=True)
                pxe_utils.prepare_instance_pxe_config(task, pxe_info, ramdisk_boot=True, ipxe_enabled=True)
            elif boot_option == "kickstart":
                raise NotImplementedError("anaconda deploys are not in this fixture")
            elif self.CONF.pxe.enable_netboot_fallback:
                pxe_utils.build_service_pxe_config(
                    task, pxe_info, node.driver_internal_info.get("root_uuid_or_disk_id"),
                    ipxe_enabled=True, is_whole_disk_image=True)
            else:
                return None, "local boot without [pxe]enable_netboot_fallback: no config", copies, None
        else:
            return None, f"Ironic keeps no boot config in state {state!r}", copies, None
        for label, (href, _path) in pxe_info.items():
            copies[self.http_path(node.uuid, label)] = href
        path = pxe_utils.get_pxe_config_file_path(node.uuid, ipxe_enabled=True)
        mode = self.boot_mode_utils.get_boot_mode(node)
        return Path(path).read_text(), None, copies, mode

    def inspection_params(self, node):
        # interface.prepare_managed_inspection builds this dict inline, between power actions.
        conf = self.CONF
        parsed = self.kernel_parameters.KernelCommandLine.parse(
            conf.inspector.extra_kernel_params).as_parameter_set().asdict()
        params = dict(**parsed, **{"ipa-inspection-callback-url": self.inspect_utils.get_inspection_callback(
            self.deploy_utils.get_ironic_api_url())})
        if conf.inspector.force_dhcp:
            params.setdefault("ipa-collect-lldp", "1")
        if self.common_utils.fast_track_enabled(node):
            params["ipa-api-url"] = self.deploy_utils.get_ironic_api_url()
        return params


# --- what iPXE would boot ------------------------------------------------------------

IPXE_OPTIONS_WITH_VALUE = ("--name", "--timeout", "--drive", "-n", "-t", "-d")


def split_options(words):
    """iPXE's getopt for kernel/initrd/sanboot: (options, operands)."""
    options, rest = {}, list(words)
    while rest and rest[0].startswith("-"):
        word = rest.pop(0)
        if word == "--":
            break
        if "=" in word:
            key, value = word.split("=", 1)
            options[key] = value
        elif word in IPXE_OPTIONS_WITH_VALUE and rest:
            options[word] = rest.pop(0)
        else:
            options[word] = True
    return options, rest


def boots(script, boot_mode):
    """What iPXE does with `script` when every fetch succeeds: a dict naming the boot."""
    if script is None:
        return {"boot": "error"}
    # Our error scripts end in reboot, `exit 1` or a retry chain, as configured; what
    # matters is that the node boots nothing, which their header comment says.
    if "\n# ipxe-config: error script" in script:
        return {"boot": "error"}
    lines = script.splitlines()
    labels = {line[1:].strip(): i for i, line in enumerate(lines) if line.startswith(":")}
    kernel, initrds = None, []
    pc, steps = 0, 0
    while pc < len(lines) and steps < 1000:
        steps += 1
        line = lines[pc].strip()
        pc += 1
        if not line or line.startswith("#") or line.startswith(":"):
            continue
        # `a || b`: a succeeds, so b never runs; `a && b`: b runs when a succeeds; the
        # tests (iseq, isset) are taken as failing, which keeps retry loops out.
        command = []
        for word in line.split():
            if word in ("||", "&&", ";"):
                break
            command.append(word)
        name, args = command[0], command[1:]
        if name in ("iseq", "isset"):
            continue
        if name == "goto":
            pc = labels[args[0]] + 1
            continue
        if name == "kernel":
            options, operands = split_options(args)
            kernel = {"url": operands[0], "args": operands[1:]}
            initrds = []
        elif name == "initrd":
            options, operands = split_options(args)
            url = operands[0]
            initrds.append({"url": url, "name": options.get("--name") or options.get("-n") or url.rsplit("/", 1)[-1]})
        elif name == "boot":
            return {"boot": "kernel", "kernel": kernel["url"], "args": kernel["args"], "initrd": initrds}
        elif name == "sanboot":
            options, operands = split_options(args)
            if operands:
                return {"boot": "sanboot", "url": operands[0]}
            # No URL: boot the BIOS drive 0x80. The only firmware where that boots is BIOS;
            # under UEFI it fails and `|| exit 0` returns to the firmware's boot order.
            return {"boot": "local-disk", "boot_mode": "bios"}
        elif name == "exit":
            return {"boot": "local-disk", "boot_mode": "uefi"}
        elif name in ("reboot", "poweroff", "chain", "shell"):
            return {"boot": name}
    return {"boot": "nothing"}


def normalise_ironic(outcome, copies, boot_mode):
    """Ironic's URLs of its cached copies become the references they copy, when those are
    URLs our renderer can fetch directly; for Glance UUIDs and file:// references the
    copy's URL (Ironic's <http_url>/<uuid>/<label> layout) is what ours should match."""
    def source(url):
        href = copies.get(url)
        if href and href.startswith(("http://", "https://")):
            return href
        return url
    if outcome["boot"] == "kernel":
        outcome = dict(outcome, kernel=source(outcome["kernel"]),
                       initrd=[dict(i, url=source(i["url"])) for i in outcome["initrd"]])
    elif outcome["boot"] == "sanboot":
        outcome = dict(outcome, url=source(outcome["url"]))
    elif outcome["boot"] == "local-disk":
        # Ironic's boot_whole_disk is `sanboot --no-describe || exit 0` whatever the mode;
        # the boot mode it resolved (and set on the BMC) is what ours must agree with.
        outcome = dict(outcome, boot_mode=boot_mode)
    return outcome


def without_words(outcome, prefixes):
    """The outcome with the kernel arguments differences.json leaves out of every comparison."""
    if outcome["boot"] != "kernel":
        return outcome
    return dict(outcome, args=[w for w in outcome["args"] if not w.startswith(tuple(prefixes))])


def describe(outcome):
    boot = outcome["boot"]
    if boot == "kernel":
        initrds = ", ".join(f"{i['url']} as {i['name']}" for i in outcome["initrd"])
        return f"kernel {outcome['kernel']} | {' '.join(outcome['args'])} | initrd {initrds}"
    if boot == "sanboot":
        return f"sanboot {outcome['url']}"
    if boot == "local-disk":
        return f"local disk ({outcome['boot_mode']})"
    return boot


def differences(ironic, ours):
    """Human-readable differences between two outcomes; empty when they match."""
    if ironic["boot"] != ours["boot"]:
        return [f"boot: Ironic {describe(ironic)!r}; ours {describe(ours)!r}"]
    found = []
    if ironic["boot"] == "kernel":
        if ironic["kernel"] != ours["kernel"]:
            found.append(f"kernel: Ironic {ironic['kernel']}; ours {ours['kernel']}")
        if ironic["args"] != ours["args"]:
            only_ironic = [w for w in ironic["args"] if w not in ours["args"]]
            only_ours = [w for w in ours["args"] if w not in ironic["args"]]
            detail = f"only Ironic {only_ironic}, only ours {only_ours}" if only_ironic or only_ours else "order"
            found.append(f"args ({detail}): Ironic {' '.join(ironic['args'])!r}; ours {' '.join(ours['args'])!r}")
        if ironic["initrd"] != ours["initrd"]:
            found.append(f"initrd: Ironic {ironic['initrd']}; ours {ours['initrd']}")
    elif ironic != ours:
        found.append(f"Ironic {describe(ironic)!r}; ours {describe(ours)!r}")
    return found


# --- the report ----------------------------------------------------------------------

README_START = "<!-- differences table: generated by compare.py --write-readme from differences.json -->"
README_END = "<!-- end of differences table -->"


def readme_table(nodes, recorded, ignored):
    by_uuid = {n["uuid"]: n for n in nodes}
    rows = ["| case | node | status | difference and reason |", "|---|---|---|---|"]
    for prefix, entry in sorted(ignored.items()):
        reason = entry["reason"].replace("|", "\\|")
        rows.append(f"| every kernel line: `{prefix}…` | all | {entry['status']} | {reason} |")
    for uuid, entry in sorted(recorded.items(), key=lambda kv: by_uuid.get(kv[0], {}).get("name", kv[0])):
        name = by_uuid.get(uuid, {}).get("name", "?")
        reason = entry["reason"].replace("|", "\\|")
        rows.append(f"| `{name}` | `{uuid}` | {entry['status']} | {reason} |")
    return "\n".join([README_START, *rows, README_END])


def check_readme(table, write):
    path = FIXTURES / "README.md"
    text = path.read_text()
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < 0:
        return [f"{path}: no generated differences table markers"]
    updated = text[:start] + table + text[end + len(README_END):]
    if updated == text:
        return []
    if write:
        path.write_text(updated)
        print(f"ironic-parity: rewrote the table in {path}")
        return []
    return [f"{path}: the differences table is out of date (run compare.py --write-readme)"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-readme", action="store_true", help="rewrite the README differences table")
    parser.add_argument("--show", metavar="NAME", help="print both scripts of one case")
    args = parser.parse_args()
    if not in_venv():
        bootstrap(sys.argv[1:])

    inventory = json.loads((FIXTURES / "nodes.json").read_text())
    conf = json.loads((FIXTURES / "conf.json").read_text())["ironic"]
    known = json.loads((FIXTURES / "differences.json").read_text())
    recorded, ignored = known["cases"], known.get("ignored_words", {})
    nodes = inventory["nodes"]
    for node in nodes:
        node["_ports"] = [p for p in inventory.get("ports", []) if p["node_uuid"] == node["uuid"]]
    scratch = WORK / "ironic-scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    ironic = Ironic(conf, scratch)

    problems, counts, rows = [], {"match": 0, "known": 0}, []
    uuids = {n["uuid"] for n in nodes}
    problems += [f"differences.json names {u}, which is not a fixture node" for u in recorded if u not in uuids]
    problems += [f"differences.json: {u} is named {recorded[u].get('name')!r}, the fixture calls it {n['name']!r}"
                 for n in nodes for u in [n["uuid"]] if u in recorded and recorded[u].get("name") != n["name"]]
    for index, node in enumerate(nodes, start=1):
        uuid, name = node["uuid"], node.get("name", node["uuid"])
        ironic.configure((node.get("extra") or {}).get("parity", {}).get("ironic_conf"))
        try:
            script, why_none, copies, boot_mode = ironic.script(node, index)
        except Exception as error:  # Ironic refusing the node is an outcome, not a crash.
            script, why_none, copies, boot_mode = None, f"{type(error).__name__}: {error}", {}, None
        theirs = without_words(normalise_ironic(boots(script, boot_mode), copies, boot_mode), ignored)
        ours_path = WORK / "ours" / f"{uuid}.ipxe"
        load_error = WORK / "ours" / f"{uuid}.load-error"
        if ours_path.exists():
            our_script = ours_path.read_text()
            ours = without_words(boots(our_script, None), ignored)
        elif load_error.exists():
            our_script = f"(inventory rejected: {load_error.read_text().strip()})"
            ours = {"boot": "error"}
        else:
            problems.append(f"{name}: no script of ours at {ours_path}")
            continue
        if args.show == name:
            print(f"--- Ironic ({why_none or 'rendered'}; boot mode {boot_mode}):\n{script}\n--- ours:\n{our_script}")
        found = differences(theirs, ours)
        entry = recorded.get(uuid)
        if not found and not entry:
            status = "match"
            counts["match"] += 1
        elif found and entry:
            status = f"known ({entry['status']})"
            counts["known"] += 1
        elif found:
            status = "DIFFER"
            problems.append(f"{name} ({uuid}) differs, not in differences.json:\n      " + "\n      ".join(found))
        else:
            status = "NOW MATCHES"
            problems.append(f"{name} ({uuid}) matches now: remove it from differences.json")
        rows.append((name, node["provision_state"], status, describe(theirs), found, why_none))

    width = max(len(r[0]) for r in rows)
    print(f"\nironic-parity: Ironic {IRONIC_VERSION} against ours, {len(rows)} cases")
    for name, state, status, what, found, why_none in rows:
        print(f"  {name:<{width}}  {status:<16} {what if not found else found[0]}")
        if why_none and status != "match":
            print(f"  {'':<{width}}  {'':<16} (Ironic: {why_none})")
        for extra in found[1:]:
            print(f"  {'':<{width}}  {'':<16} {extra}")
    problems += check_readme(readme_table(nodes, recorded, ignored), args.write_readme)
    print(f"\nironic-parity: {counts['match']} match, {counts['known']} known differences, {len(problems)} problems")
    for problem in problems:
        print(f"  - {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
