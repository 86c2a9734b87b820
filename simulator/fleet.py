"""Generate a realistic, reproducible fleet description from a seed.

Pure data: no sockets here. The same (devices, seed, communities, base address) always
gives the same serials, addresses, credentials and topology, so tests and benchmarks can
rely on them.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import random
import string
from dataclasses import dataclass, field

KINDS = ("camera", "nvr", "switch", "speaker")
ROLES = ("entrance", "road", "perimeter", "high_altitude", "fire_lane", "interior")
COMMUNITY_TYPES = ("open", "closed", "single_building")

DISTRICTS = ("鼓楼区", "台江区", "仓山区", "晋安区", "马尾区", "长乐区")
STREETS = ("五一路", "湖东路", "六一路", "福新路", "东街", "白马路", "工业路", "华林路",
           "铜盘路", "杨桥路", "温泉路", "金山大道")
SUFFIXES = ("小区", "新村", "花园", "公寓", "家园", "苑")
# Contracts alternate between two builders, so tenant isolation has something to isolate.
CONTRACTORS = ("闽江安防工程有限公司", "榕城智能科技有限公司")

# (vendor, model, serial prefix, enterprise number for sysObjectID)
CAMERA_MODELS = (
    ("Hikvision", "DS-2CD2T47G2-L", "HK", 39165),
    ("Hikvision", "DS-2CD3T86FWDV2-I3S", "HK", 39165),
    ("Dahua", "IPC-HFW2431S-S-S2", "DH", 1004849),
    ("Dahua", "IPC-HFW3849T1-AS-PV", "DH", 1004849),
    ("Uniview", "IPC2124LB-SF40KM-G", "UV", 25506),
)
NVR_MODELS = (
    ("Hikvision", "DS-7732NI-K4", "HK", 39165),
    ("Dahua", "NVR5232-EI", "DH", 1004849),
)
SWITCH_MODELS = (
    ("Huawei", "S5735-L24P4S-A", "HW", 2011),
    ("H3C", "S5130S-28P-PWR-EI", "H3", 25506),
    ("TP-Link", "TL-SG3428MP", "TP", 11863),
)
SPEAKER_MODELS = (
    ("Hikvision", "DS-PA0103-B", "HK", 39165),
    ("SPON", "NAS-8503", "SP", 40000),
)

# Which camera roles a community of each type gets (repeated as size allows).
ROLE_PLAN = {
    "open": ("entrance", "road", "perimeter", "high_altitude", "fire_lane", "entrance",
             "road", "high_altitude", "perimeter", "interior"),
    "closed": ("entrance", "perimeter", "high_altitude", "fire_lane", "interior",
               "entrance", "road", "perimeter", "high_altitude"),
    "single_building": ("entrance", "high_altitude", "fire_lane", "interior", "interior",
                        "high_altitude"),
}
ROLE_NAMES = {"entrance": "出入口", "road": "道路", "perimeter": "周界",
              "high_altitude": "高空抛物", "fire_lane": "消防通道", "interior": "楼内"}


@dataclass
class SnmpV3User:
    user: str
    auth_key: str
    priv_key: str
    auth_protocol: str = "SHA"
    priv_protocol: str = "AES"


@dataclass
class DeviceSpec:
    """One virtual device as listed in the inventory (static part)."""
    index: int
    serial: str
    kind: str
    role: str
    vendor: str
    model: str
    enterprise: int
    mac: str
    ip: str
    onvif_port: int
    snmp_port: int
    snmp_community: str
    username: str
    password: str
    name: str
    community: str
    community_index: int
    district: str
    community_type: str
    contract: str
    installed_on: str
    contractor: str = ""
    upstream: str = ""                 # network and power path (switch, or the NVR's PoE port)
    recorded_by: str = ""              # cameras: the NVR that records them
    switch_port: int | None = None     # port on the upstream switch, 1-based
    paired_with: str = ""              # fire-lane camera <-> speaker
    ports: int = 0                     # switches: number of access ports
    snmp_v3: SnmpV3User | None = None
    scene: int = 0                     # index into the scene catalogue (cameras)
    alt_scene: int = 1                 # what the camera sees after being knocked
    firmware: str = "V5.7.3 build 230512"
    ptz: bool = False                  # a pan/tilt dome (every road camera)
    downstream: list[str] = field(default_factory=list)


def _password(rng: random.Random, n: int = 12) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(rng.choice(alphabet) for _ in range(n - 2)) + rng.choice("!@#%") + rng.choice(string.digits)


def _key(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(16))


def _device_v3(shared: SnmpV3User, seed: int, serial: str) -> SnmpV3User:
    """Per-device passphrases derived by hash (no random draw: the seeded fleet stays the
    same whichever key mode is chosen)."""
    def k(what: str) -> str:
        h = hashlib.sha256(f"{seed}/{serial}/{what}/{shared.auth_key}".encode()).digest()
        return "".join(string.ascii_letters[b % 52] for b in h[:16])
    return SnmpV3User(user=shared.user, auth_key=k("auth"), priv_key=k("priv"))


def address_iter(base: str):
    """Loopback addresses from `base` on, skipping .0 and .255 host octets."""
    ip = ipaddress.IPv4Address(base)
    net = ipaddress.IPv4Network("127.0.0.0/8")
    while True:
        if ip not in net:
            raise ValueError(f"ran out of 127.0.0.0/8 addresses after {base}")
        last = int(ip) & 0xFF
        if last not in (0, 255) and int(ip) & 0xFFFFFF:
            yield str(ip)
        ip += 1


def _community_sizes(devices: int, communities: int) -> list[int]:
    base, extra = divmod(devices, communities)
    return [base + (1 if i < extra else 0) for i in range(communities)]


def generate(devices: int, seed: int, communities: int | None = None,
             base_address: str = "127.10.0.1", onvif_port: int = 8080,
             snmp_port: int = 1161, v3_share: float = 0.2,
             v3_keys: str = "contract") -> list[DeviceSpec]:
    """Build the fleet. Every community has a switch and an NVR (when it has room),
    cameras with roles fitting its type, and a speaker beside each fire-lane camera.

    Topology (``upstream`` is the network and power path, ``recorded_by`` the recording
    link; the switch's uplink to the street cabinet is not in the inventory):

    * most communities: cameras and speakers on the PoE switch, the NVR beside them on the
      switch's last access port; every camera is recorded by the NVR;
    * every third community (``community_index % 3 == 2``) with a switch: the cameras on the
      NVR's own PoE ports (``upstream`` = the NVR, no switch port), the NVR and the
      speakers on the switch.
    ``v3_keys="device"`` gives every v3 device its own passphrases (same user name)."""
    if v3_keys not in ("contract", "device"):
        raise ValueError("v3_keys must be 'contract' or 'device'")
    if devices < 1:
        raise ValueError("need at least one device")
    if communities is None:
        communities = max(1, round(devices / 12))
    communities = max(1, min(communities, devices))
    rng = random.Random(seed)
    addrs = address_iter(base_address)
    out: list[DeviceSpec] = []
    # Contracts: a few communities share one, so there are always 2+ when possible.
    n_contracts = max(2, communities // 4) if communities > 1 else 1
    by_serial: dict[str, DeviceSpec] = {}
    v3_by_contract: dict[str, SnmpV3User] = {}
    community_by_contract: dict[str, str] = {}

    for ci, size in enumerate(_community_sizes(devices, communities)):
        ctype = COMMUNITY_TYPES[rng.randrange(3)] if ci else "open"
        district = DISTRICTS[rng.randrange(len(DISTRICTS))]
        cname = f"{STREETS[rng.randrange(len(STREETS))]}{ci + 1}号{SUFFIXES[rng.randrange(len(SUFFIXES))]}"
        contract = f"C-2026-{(ci % n_contracts) + 1:03d}"
        # Read communities are set per contract by the contractor's installers.
        ccommunity = community_by_contract.setdefault(contract, rng.choice(
            ("public", f"ro{contract[-3:]}", f"fz{rng.randrange(10**6):06d}")))
        year_start = dt.date(2025, 3, 1)
        installed = year_start + dt.timedelta(days=rng.randrange(365))
        # One SNMPv3 credential set per contract (the contractor configures its own):
        # realistic, and USM key derivation (1 MiB of SHA-1 per key) stays affordable.
        v3 = v3_by_contract.setdefault(contract, SnmpV3User(
            user="mon" + contract.replace("-", "").lower(), auth_key=_key(rng), priv_key=_key(rng)))

        plan: list[tuple[str, str]] = []
        if size >= 3:
            plan += [("switch", ""), ("nvr", "")]
        roles = ROLE_PLAN[ctype]
        ri = 0
        while len(plan) < size:
            role = roles[ri % len(roles)]
            ri += 1
            if role == "fire_lane":
                if len(plan) + 2 > size:
                    continue        # no room for its speaker: a fire lane needs both
                plan += [("camera", role), ("speaker", "")]
            else:
                plan.append(("camera", role))

        switch: DeviceSpec | None = None
        nvr: DeviceSpec | None = None
        nvr_poe = ci % 3 == 2
        last_fire_cam: DeviceSpec | None = None
        counters: dict[str, int] = {}
        for kind, role in plan:
            idx = len(out)
            models = {"camera": CAMERA_MODELS, "nvr": NVR_MODELS,
                      "switch": SWITCH_MODELS, "speaker": SPEAKER_MODELS}[kind]
            vendor, model, prefix, ent = models[rng.randrange(len(models))]
            serial = f"{prefix}{kind[0].upper()}{2024 + idx % 3}{idx + 1:07d}"
            counters[role or kind] = counters.get(role or kind, 0) + 1
            label = ROLE_NAMES.get(role, {"nvr": "录像机", "switch": "PoE交换机",
                                          "speaker": "消防通道音柱"}.get(kind, kind))
            mac_tail = rng.randrange(1 << 24)
            dev = DeviceSpec(
                index=idx, serial=serial, kind=kind, role=role, vendor=vendor,
                model=model, enterprise=ent,
                mac="{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}".format(
                    0x44, 0x19, 0xB6, mac_tail >> 16, (mac_tail >> 8) & 0xFF, mac_tail & 0xFF),
                ip=next(addrs), onvif_port=onvif_port, snmp_port=snmp_port,
                snmp_community=ccommunity, username="admin", password=_password(rng),
                name=f"{cname}{label}{counters[role or kind]}", community=cname,
                community_index=ci, district=district, community_type=ctype,
                contract=contract, installed_on=installed.isoformat(),
                contractor=CONTRACTORS[(ci % n_contracts) % len(CONTRACTORS)],
            )
            if kind == "camera":
                # Road cameras are PTZ domes (patrolling a street); set without a
                # random draw, so the rest of the seeded fleet is unchanged.
                dev.ptz = role == "road"
                dev.scene = rng.randrange(1 << 30)
                dev.alt_scene = rng.randrange(1 << 30)
            # Switches and NVRs always speak v3 authPriv; some cameras too.
            if kind in ("switch", "nvr") or (kind == "camera" and rng.random() < v3_share):
                dev.snmp_v3 = v3 if v3_keys == "contract" else _device_v3(v3, seed, serial)
            if kind == "switch":
                switch = dev
            elif kind == "nvr":
                nvr = dev                          # plugged into the switch after the cameras
            elif kind == "camera" and nvr is not None and switch is not None and nvr_poe:
                dev.upstream = nvr.serial          # on the NVR's own PoE port
                nvr.downstream.append(dev.serial)
            elif switch is not None:
                dev.upstream = switch.serial
                switch.downstream.append(dev.serial)
                dev.switch_port = len(switch.downstream)
            if kind == "camera" and nvr is not None:
                dev.recorded_by = nvr.serial
            if kind == "camera" and role == "fire_lane":
                last_fire_cam = dev
            if kind == "speaker" and last_fire_cam is not None:
                dev.paired_with = last_fire_cam.serial
                last_fire_cam.paired_with = dev.serial
                dev.name = last_fire_cam.name.replace(ROLE_NAMES["fire_lane"], "消防通道音柱")
            out.append(dev)
            by_serial[serial] = dev
        if switch is not None and nvr is not None:
            nvr.upstream = switch.serial           # the NVR sits beside the cameras
            switch.downstream.append(nvr.serial)
            nvr.switch_port = len(switch.downstream)
        if switch is not None:
            # Access ports rounded up to a real size; the uplink is the last port.
            need = len(switch.downstream) + 1
            switch.ports = next((p for p in (8, 16, 24, 48) if p >= need), need)
        del nvr
    return out
