"""GET https://api.github.com/<path> through the egress proxy (HTTPS_PROXY, set by the shim)."""

import urllib.error
import urllib.request

from skillware.core.base_skill import BaseSkill

BASE = "https://api.github.com"


class HttpGetSkill(BaseSkill):
    def execute(self, params):
        url = BASE + params.get("path", "/zen")
        limit = int(params.get("max_bytes", 4096))
        request = urllib.request.Request(url, headers={"User-Agent": "skillware-demo",
                                                       "Accept": "application/vnd.github+json"})
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return {"url": url, "status": response.status,
                        "body": response.read(limit).decode("utf-8", "replace")}
        except urllib.error.HTTPError as exc:
            return {"url": url, "status": exc.code, "body": exc.read(limit).decode("utf-8", "replace")}
