"""`onevision app`: the application under uvicorn, on 127.0.0.1 unless told otherwise (and then only with a secret).

Uvicorn's access log is off (it would write query strings, which can hold a company's name); the guard
writes one line per request with the path and the user id only. No `Server` header, no date header noise.
"""

from __future__ import annotations

import logging

import uvicorn

from onevision_dagster.app.settings import AppSettings
from onevision_dagster.app.web import create_app

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def make_server(settings: AppSettings) -> uvicorn.Server:
    settings.check_listen()
    config = uvicorn.Config(
        create_app(settings), host=settings.host, port=settings.port, access_log=False, server_header=False,
        proxy_headers=True, forwarded_allow_ips="127.0.0.1", log_level="warning", lifespan="off")
    return uvicorn.Server(config)


def serve(settings: AppSettings) -> None:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    logging.getLogger("onevision.app").setLevel(logging.INFO)
    server = make_server(settings)
    where = f"http://{settings.host}:{settings.port}/"
    print(f"Application One Vision : {where} (publication lue dans {settings.publication}) — Ctrl+C pour arrêter",
          flush=True)
    server.run()
