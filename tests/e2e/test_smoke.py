"""The request path end to end: organisations through gateway, broker and
the agreements service's store."""

from stack import Stack, run


def test_create_get_list():
    with Stack() as s:
        org = s.org(name="Bezirksamt Mitte", employees=1600, region="Berlin")
        assert org["name"] == "Bezirksamt Mitte"
        assert org["kind"] == "employer"
        assert org["employees"] == 1600
        assert org["region"] == "Berlin"
        assert org["sector"] is None
        assert len(org["id"]) == 26
        r = s.get("/v1/organizations/" + org["id"])
        assert r.status == 200, r
        assert r.json() == org
        assert r.header("ETag") == '"%s.1"' % org["id"]
        r = s.get("/v1/organizations")
        assert r.status == 200
        assert r.json() == {"items": [org], "next_cursor": None}


def test_health_ready_metrics():
    with Stack() as s:
        r = s.get("/healthz", token=None)
        assert r.status == 200 and r.json() == {"status": "ok"}
        r = s.get("/readyz", token=None)
        assert r.status == 200, r
        assert r.json()["services"] == {"agreements": 1, "surveys": 1, "screening": 1,
                                        "notifications": 1}
        s.org()
        r = s.get("/metrics", token=None)
        text = r.body.decode()
        assert 'wh_http_requests_total{route="ORGS_CREATE",status="201"} 1' in text, text
        assert 'wh_service_instances{service="screening"} 1' in text
        assert "wh_http_request_duration_seconds_bucket" in text


if __name__ == "__main__":
    run([test_create_get_list, test_health_ready_metrics])
