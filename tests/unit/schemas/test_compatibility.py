from schemas.catalog import EXAMINATION_EVENT, Catalog, default_catalog
from schemas.codec import SchemaVersion
from schemas.compatibility import check_catalog


def test_every_version_in_the_repo_reads_every_older_one():
    assert check_catalog(default_catalog()) == []


def test_a_new_required_field_without_default_is_caught():
    base = default_catalog().versions(EXAMINATION_EVENT)[0]
    broken = dict(base.raw, fields=[*base.raw["fields"], {"name": "mandatory_new", "type": "string"}])
    catalog = Catalog([base, SchemaVersion.from_dict(EXAMINATION_EVENT, 9, broken)])
    problems = check_catalog(catalog)
    assert problems and all(p.writer == 1 and p.reader == 9 for p in problems)
    assert "mandatory_new" in str(problems[0])


def test_changing_a_type_incompatibly_is_caught():
    base = default_catalog().versions(EXAMINATION_EVENT)[0]
    fields = [dict(f, type="int") if f["name"] == "event_id" else f for f in base.raw["fields"]]
    catalog = Catalog([base, SchemaVersion.from_dict(EXAMINATION_EVENT, 2, dict(base.raw, fields=fields))])
    assert check_catalog(catalog)
