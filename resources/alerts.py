"""Alert sinks: where a failed check or run is reported. One interface, three transports.

`send` raises on failure; the alert sensor keeps undelivered alerts and retries them on
its next tick, so an outage of the sink delays alerts but never loses them.
"""

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import dagster as dg

DEFAULT_UI_URL = "http://127.0.0.1:3000"


class AlertSink(dg.ConfigurableResource):
    """Base: subclasses deliver one alert (a JSON-serialisable dict) or raise.

    `ui_url` is where the Dagster UI is reached from where alerts are read (Slack, a
    webhook's consumer): alert links are made absolute against it."""

    ui_url: str = DEFAULT_UI_URL

    def absolute(self, alert: dict[str, Any]) -> dict[str, Any]:
        """The alert with its UI-relative `link` (`/runs/<id>`) made absolute."""
        link = alert.get("link")
        if isinstance(link, str) and link.startswith("/"):
            return {**alert, "link": self.ui_url.rstrip("/") + link}
        return alert

    def send(self, alert: dict[str, Any]) -> None:
        raise NotImplementedError


class JsonlAlertSink(AlertSink):
    """Appends one JSON line per alert to a file (the default; easy to tail or ship)."""

    path: str

    def send(self, alert: dict[str, Any]) -> None:
        target = Path(self.path)
        target.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(alert, sort_keys=True, default=str) + "\n"
        # O_APPEND writes of one line are atomic for the sizes we write; fsync for durability.
        with open(target, "a", encoding="utf-8") as out:
            out.write(line)
            out.flush()
            os.fsync(out.fileno())


class WebhookAlertSink(AlertSink):
    """POSTs each alert as JSON to a URL (the URL may carry a token: it comes from EnvVar)."""

    url: str
    timeout_seconds: float = 10.0

    def send(self, alert: dict[str, Any]) -> None:
        body = json.dumps(alert, default=str).encode("utf-8")
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"},
                                         method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310
            if response.status >= 300:
                raise RuntimeError(f"webhook answered {response.status}")


class SlackAlertSink(AlertSink):
    """Posts a short message to a Slack channel through `dagster-slack` (token from EnvVar)."""

    token: str
    channel: str

    def send(self, alert: dict[str, Any]) -> None:
        from dagster_slack import SlackResource

        text = (f":rotating_light: *{alert['kind']}* {alert.get('asset', '')} "
                f"{alert.get('check', '')} partition={alert.get('partition') or '-'} "
                f"severity={alert.get('severity', '-')}\n{alert.get('summary', '')}\n{alert.get('link', '')}")
        client = SlackResource(token=self.token).get_client()
        response = client.chat_postMessage(channel=self.channel, text=text)
        if not response.get("ok", False):
            raise RuntimeError(f"slack refused the alert: {response.get('error')}")


def default_alert_path(data_root: str) -> str:
    return str(Path(data_root) / "alerts.jsonl")

