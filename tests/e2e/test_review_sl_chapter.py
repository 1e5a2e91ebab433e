"""Review: a hidden unit's chapter figures derived from the organisation's
chapter row when the other hidden unit has no row for that chapter."""
import sickleavelib as sk
from stack import Stack, run

UNITS = {"Bau": (200, 60, 900), "Jugend": (60, 22, 410), "Kita": (45, 30, 700),
         "Ordnung": (300, 80, 1300)}


def test_chapter_only_in_one_hidden_unit():
    with Stack() as s:
        insurer = s.org("AOK Test", kind="insurer")["id"]
        org = s.org("Bezirksamt Nord")["id"]
        rows = sk.unit_rows(org, "2025-Q1", UNITS, chapters=("XIII",))
        # Only Kita (45 insured, suppressed) has a row for chapter V.
        rows.append((org, "Kita", "2025-Q1", 45, 3, 77, "V"))
        assert sk.post(s, insurer, sk.csv(rows)).status == 201
        coord = s.token("coordinator", [org])
        items = sk.get(s, org, "2025-Q1", by="icd_chapter", token=coord).json()["items"]
        v = [i for i in items if i["icd_chapter"] == "V"]
        print("chapter V items:", v)
        org_v = [i for i in v if i["unit"] is None][0]
        kita_v = [i for i in v if i["unit"] == "Kita"][0]
        shown = [i for i in v if i["unit"] not in (None, "Kita")]
        print("org V days", org_v["days"], "cases", org_v["cases"], "kita suppressed", kita_v["suppressed"], "other units listed", shown)
        assert not (kita_v["suppressed"] and org_v["days"] == 77 and not shown), "LEAK: Kita's chapter V derived"


if __name__ == "__main__":
    run([test_chapter_only_in_one_hidden_unit])
