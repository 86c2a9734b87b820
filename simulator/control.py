"""Control API on 127.0.0.1 (aiohttp): list devices, set and clear faults at run time.

GET    /health                      {"devices": N, "ready": true}
GET    /devices                     [device, ...]       (shape: see simulator.testing)
GET    /devices/<serial>            device
GET    /faults                      {"faults": {group: [name, ...]}, "params": {name: default}}
                                    every fault (and quirk) name POST accepts, by group
POST   /devices/<serial>/faults     {"faults": ["blur", "clock_drift"], "clock_offset_s": 3600}
                                    adds those faults (parameters as extra keys); -> device
DELETE /devices/<serial>/faults     clears every fault (?fault=a&fault=b clears only those)
PUT    /devices/<serial>/scene      {"tint": "warm" | "blue" | null}: the light of a camera's
                                    scene (a warm interior, a blue sky; not a fault) -> device
Faults take effect before the answer is sent, so the next device request sees them.
"""
from __future__ import annotations

import json

from aiohttp import web

from . import faults as fault_names
from .runtime import Fleet


def make_app(fleet: Fleet) -> web.Application:
    routes = web.RouteTableDef()

    def _json(data, status: int = 200) -> web.Response:
        return web.Response(text=json.dumps(data, ensure_ascii=False), status=status,
                            content_type="application/json")

    def _device(request: web.Request):
        st = fleet.states.get(request.match_info["serial"])
        if st is None:
            raise web.HTTPNotFound(text=json.dumps({"error": "no such device"}),
                                   content_type="application/json")
        return st

    @routes.get("/health")
    async def health(request: web.Request) -> web.Response:
        return _json({"devices": len(fleet.states), "ready": True})

    @routes.get("/faults")
    async def faults(request: web.Request) -> web.Response:
        groups = {"reach": fault_names.REACH_FAULTS, "http": fault_names.HTTP_FAULTS,
                  "clock": fault_names.CLOCK_FAULTS, "picture": fault_names.PICTURE_FAULTS,
                  "other": fault_names.OTHER_FAULTS, "quirks": fault_names.QUIRKS}
        return _json({"faults": {k: list(v) for k, v in groups.items()},
                      "params": dict(fault_names.DEFAULT_PARAMS)})

    @routes.get("/devices")
    async def devices(request: web.Request) -> web.Response:
        return _json([fleet.describe(st) for st in fleet.states.values()])

    @routes.get("/devices/{serial}")
    async def device(request: web.Request) -> web.Response:
        return _json(fleet.describe(_device(request)))

    @routes.post("/devices/{serial}/faults")
    async def set_faults(request: web.Request) -> web.Response:
        st = _device(request)
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            faults = body.get("faults", [])
            if isinstance(faults, str):
                faults = [faults]
            if not isinstance(faults, list) or not all(isinstance(f, str) for f in faults):
                raise ValueError('"faults" must be a list of names')
            params = {k: float(v) for k, v in body.items() if k != "faults"}
            fleet.set_faults(st.spec.serial, faults, params)
        except (ValueError, TypeError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json(fleet.describe(st))

    @routes.put("/devices/{serial}/scene")
    async def set_scene(request: web.Request) -> web.Response:
        from .frames import TINTS

        st = _device(request)
        try:
            body = await request.json()
            tint = body.get("tint") if isinstance(body, dict) else None
            if not isinstance(body, dict) or (tint is not None and tint not in TINTS):
                raise ValueError(f'"tint" must be one of {sorted(TINTS)} or null')
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        st.tint = tint
        return _json(fleet.describe(st))

    @routes.delete("/devices/{serial}/faults")
    async def clear_faults(request: web.Request) -> web.Response:
        st = _device(request)
        only = request.query.getall("fault", []) or None
        fleet.clear_faults(st.spec.serial, only)
        return _json(fleet.describe(st))

    app = web.Application()
    app.add_routes(routes)
    return app
