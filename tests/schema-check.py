#!/usr/bin/env python3
"""Every real result and manifest in the tree against results/schema/.

Checks, as TAP (one line per folder of files; each failing file under it as
"#" lines with the JSON path and the message):
  - tests/fixtures/results/*.json (results of real runs, trimmed),
  - analysis/tests/fixtures/real-*/ (real campaigns; the hand-* and odd-*
    ones are made by hand to be odd, and are not checked),
  - results/reference/**: each campaign.json against
    migbench-campaign-1.schema.json and each SCENARIO/REP.json against
    migbench-result-1.schema.json (report/ folders and other files skipped);
and that real results mutated the ways a writer goes wrong (a metric of the
wrong type, a block missing, a misspelt member, ...) are refused, so that
the check cannot pass by accepting anything.

The heartbeats' columns (thousands of integers per result) are checked here
directly (integers, one length) and handed to the validator shortened: that
keeps a few hundred results of ~450 KB within seconds. A result whose
heartbeats are in a side file (heartbeats.file) must have it beside it, with
the count and size it says, the columns' header and integer lines; a side
file is made from a real result here and checked that way, whole and broken.

Usage: schema-check.py SRCDIR. Exit 77 (skip) without python3-jsonschema.
"""
import copy
import glob
import json
import os
import sys
import time
import warnings

try:
    import jsonschema
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match
except ImportError as e:
    print("1..0 # SKIP python3-jsonschema missing (%s): sudo bash .ci/setup" % e)
    sys.exit(77)

HB_COLUMNS = ("host_us", "guest_us", "seq", "written", "ops")


def load_validators(schema_dir):
    schemas = {}
    for name in ("migbench-result-1.schema.json", "migbench-campaign-1.schema.json"):
        with open(os.path.join(schema_dir, name)) as f:
            s = json.load(f)
        Draft202012Validator.check_schema(s)
        schemas[name] = s
    # absolute $ids: jsonschema 4.10 (Debian 12) resolves "#/$defs/..."
    # against a relative $id into a URL it then tries to fetch
    # the manifest's evacuations are the result's $defs/evacuation: one
    # definition, found by its $id (RefResolver: in 4.10 and, deprecated,
    # in 4.26)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from jsonschema import RefResolver
        store = {s["$id"]: s for s in schemas.values()}
        campaign = schemas["migbench-campaign-1.schema.json"]
        resolver = RefResolver.from_schema(campaign, store=store)
    return (Draft202012Validator(schemas["migbench-result-1.schema.json"]),
            Draft202012Validator(campaign, resolver=resolver))


def path_of(error):
    p = "$"
    for part in error.absolute_path:
        p += "[%d]" % part if isinstance(part, int) else "." + str(part)
    return p


def describe(error):
    # oneOf/anyOf say only "not valid under any": name the closest branch's
    # own complaint instead.
    if error.context:
        deeper = best_match(error.context)
        if deeper is not None:
            return describe(deeper)
    msg = error.message
    if len(msg) > 200:
        msg = msg[:200] + "..."
    return "%s: %s" % (path_of(error), msg)


def side_file_errors(hb, result_path):
    """A side file of heartbeats (heartbeats.file) against what the result says."""
    if result_path is None:
        return []
    name = hb["file"]
    path = os.path.join(os.path.dirname(result_path), str(name))
    try:
        size = os.path.getsize(path)
        with open(path) as f:
            header = f.readline().rstrip("\n").split("\t")
            lines = 0
            for line in f:
                cells = line.rstrip("\n").split("\t")
                if len(cells) != len(header) or not all(c.lstrip("-").isdigit() for c in cells):
                    return ["$.heartbeats.file: %s line %d is not %d integers" % (name, lines + 2, len(header))]
                lines += 1
    except OSError as e:
        return ["$.heartbeats.file: %s: %s" % (name, e.strerror)]
    errors = []
    if header != list(HB_COLUMNS):
        errors.append("$.heartbeats.file: %s header %r, not %r" % (name, header, list(HB_COLUMNS)))
    if lines != hb.get("count"):
        errors.append("$.heartbeats.count: %r, but %s has %d heartbeats" % (hb.get("count"), name, lines))
    if size != hb.get("bytes"):
        errors.append("$.heartbeats.bytes: %r, but %s has %d" % (hb.get("bytes"), name, size))
    return errors


def heartbeat_errors(doc, path=None):
    """The columns' own check; shortens them in `doc` for the validator."""
    hb = doc.get("heartbeats") if isinstance(doc, dict) else None
    if not isinstance(hb, dict):
        return []
    if isinstance(hb.get("file"), str):
        return side_file_errors(hb, path)
    errors, lengths = [], {}
    for col in HB_COLUMNS:
        v = hb.get(col)
        if not isinstance(v, list):
            continue  # missing or not an array: the schema says so
        lengths[col] = len(v)
        for i, x in enumerate(v):
            if type(x) is not int:
                errors.append("$.heartbeats.%s[%d]: %r is not an integer" % (col, i, x))
                break
        hb[col] = v[:3]
    if len(set(lengths.values())) > 1:
        errors.append("$.heartbeats: columns of different lengths: %s" %
                      ", ".join("%s %d" % kv for kv in sorted(lengths.items())))
    return errors


def samples_file_errors(doc, result_path):
    """A side file of samples (samples.file: JSON Lines) against the result."""
    smp = doc.get("samples") if isinstance(doc, dict) else None
    if not isinstance(smp, dict) or not isinstance(smp.get("file"), str) or result_path is None:
        return []
    name = smp["file"]
    path = os.path.join(os.path.dirname(result_path), name)
    try:
        size = os.path.getsize(path)
        lines = 0
        with open(path) as f:
            for line in f:
                lines += 1
                try:
                    v = json.loads(line)
                except ValueError:
                    v = None
                if not isinstance(v, dict) or "host_real_us" not in v or "reply" not in v:
                    return ["$.samples.file: %s line %d is not a sample" % (name, lines)]
    except OSError as e:
        return ["$.samples.file: %s: %s" % (name, e.strerror)]
    errors = []
    if lines != smp.get("count"):
        errors.append("$.samples.count: %r, but %s has %d samples" % (smp.get("count"), name, lines))
    if size != smp.get("bytes"):
        errors.append("$.samples.bytes: %r, but %s has %d" % (smp.get("bytes"), name, size))
    return errors


def check(validator, doc, is_result, path=None):
    errors = heartbeat_errors(doc, path) + samples_file_errors(doc, path) if is_result else []
    errors += [describe(e) for e in validator.iter_errors(doc)]
    return errors


def check_file(validator, path, is_result):
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        return ["not readable JSON: %s" % e]
    return check(validator, doc, is_result, path)


def side_file_cases(result, tmp):
    """(what, result path, should pass): the real result with its heartbeats
    moved to a side file, then with the file gone or not what it says."""
    hb = result["heartbeats"]
    text = "\t".join(HB_COLUMNS) + "\n" + "".join(
        "\t".join(str(hb[c][i]) for c in HB_COLUMNS) + "\n" for i in range(len(hb["seq"])))
    out = []

    def case(what, ok, change_doc=None, change_text=None, write=True):
        d = copy.deepcopy(result)
        t = change_text(text) if change_text else text
        for c in HB_COLUMNS:
            del d["heartbeats"][c]
        d["heartbeats"].pop("trimmed", None)
        d["heartbeats"].update(file="1.heartbeats.tsv", format="tsv", count=len(hb["seq"]), bytes=len(t))
        if change_doc:
            change_doc(d)
        folder = os.path.join(tmp, str(len(out)))
        os.makedirs(folder)
        if write:
            with open(os.path.join(folder, "1.heartbeats.tsv"), "w") as f:
                f.write(t)
        p = os.path.join(folder, "1.json")
        with open(p, "w") as f:
            json.dump(d, f)
        out.append((what, p, ok))

    case("heartbeats in a side file", True)
    case("a side file that is not there", False, write=False)
    case("a side file of fewer heartbeats than said", False,
         change_text=lambda t: t[:t.rindex("\n", 0, len(t) - 1) + 1])
    case("a side file that is not integers", False,
         change_text=lambda t: t.replace("\n", "\nx", 1))
    case("a side file and the columns inline", False,
         change_doc=lambda d: d["heartbeats"].update(seq=hb["seq"]))
    case("a side file outside the result's folder", False,
         change_doc=lambda d: d["heartbeats"].update(file="../1.heartbeats.tsv"))

    # the samples' side file (JSON Lines), beside the heartbeats' one
    lines = "".join(json.dumps(x) + "\n" for x in result["samples"])

    def samples_case(what, ok, text, change=None):
        def doc(d):
            d["samples"] = {"file": "1.samples.jsonl", "format": "jsonl", "count": len(result["samples"]),
                            "bytes": len(text.encode())}
            if change:
                change(d)
        case(what, ok, change_doc=doc)
        with open(os.path.join(os.path.dirname(out[-1][1]), "1.samples.jsonl"), "w") as f:
            f.write(text)

    samples_case("samples in a side file", True, lines)
    samples_case("a samples' side file of more samples than said", False, lines + lines.split("\n")[0] + "\n",
                 lambda d: d["samples"].update(bytes=d["samples"]["bytes"] + len(lines.split("\n")[0]) + 1))
    samples_case("a samples' side file with a line that is not a sample", False, lines.replace('"reply":', '"rep":', 1))
    samples_case("samples named in a side file and inline", False, lines,
                 lambda d: d["samples"].update(items=result["samples"]))
    return out


def collect(srcdir):
    """[(group, [(path, is_result)])] of the real files in the tree."""
    groups = []

    def rel(p):
        return os.path.relpath(p, srcdir)

    fixtures = sorted(glob.glob(os.path.join(srcdir, "tests/fixtures/results/*.json")))
    groups.append(("tests/fixtures/results", [(p, True) for p in fixtures]))

    def campaign_files(top):
        out = []
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d != "report")
            for name in sorted(filenames):
                p = os.path.join(dirpath, name)
                if name == "campaign.json":
                    out.append((p, False))
                elif name.endswith(".json") and name[:-5].isdigit() and dirpath != top:
                    out.append((p, True))
        return out

    for top in sorted(glob.glob(os.path.join(srcdir, "analysis/tests/fixtures/real-*"))):
        groups.append((rel(top), campaign_files(top)))
    ref = os.path.join(srcdir, "results/reference")
    for top in sorted(glob.glob(os.path.join(ref, "*"))):
        if os.path.isdir(top):
            files = campaign_files(top)
            if files:
                groups.append((rel(top), files))
    return groups


def mutations(result, manifest):
    """(what, document) pairs the schemas must refuse."""
    out = []

    def m(what, base, change):
        d = copy.deepcopy(base)
        change(d)
        out.append((what, d))

    def setp(*path_value):
        *path, value = path_value

        def f(d):
            for k in path[:-1]:
                d = d[k]
            d[path[-1]] = value
        return f

    def delp(*path):
        def f(d):
            for k in path[:-1]:
                d = d[k]
            del d[path[-1]]
        return f

    m("metrics.downtime_ms a string", result, setp("metrics", "downtime_ms", "25.1"))
    m("metrics.total_time_ms negative", result, setp("metrics", "total_time_ms", -1.0))
    m("metrics.pages_transferred.total a float", result, setp("metrics", "pages_transferred", "total", 1.5))
    m("no metrics block", result, delp("metrics"))
    m("no heartbeats block", result, delp("heartbeats"))
    m("run without status", result, delp("run", "status"))
    m("run.status not one of the four", result, setp("run", "status", "succeeded"))
    m("a completed run without completed_as", result, setp("run", "completed_as", None))
    m("unknown top-level member (metric)", result, setp("metric", {}))
    m("unknown metric (downtime_msec)", result, setp("metrics", "downtime_msec", 25.1))
    m("guest_gap_stopped_ms null", result, setp("metrics", "guest_gap_stopped_ms", None))
    m("postcopy_faults.blocktime_ms a string", result,
      setp("metrics", "postcopy_faults", {"blocktime_ms": "19", "vcpu_blocktime_ms": [], "latency_us": None,
                                          "vcpu_latency_us": None, "non_vcpu_latency_us": None,
                                          "latency_dist": None, "faults": None}))
    m("netclient available without its figures", result, setp("netclient", {"available": True}))
    m("energy unavailable without a reason", result, setp("energy", {"available": False}))
    m("counters' side without pid", result, setp("counters", "source", {"threads": []}))
    m("an event of a third side", result, setp("events", 0, "side", "both"))
    m("a sample without its reply", result, delp("samples", 0, "reply"))
    m("heartbeats columns of different lengths", result,
      lambda d: d["heartbeats"]["seq"].append(d["heartbeats"]["seq"][-1] + 1))
    m("heartbeats.written holding a float", result,
      lambda d: d["heartbeats"]["written"].__setitem__(0, 0.5))
    m("scenario.mode misspelt", result, setp("scenario", "mode", "pre-copy"))
    mm = [("manifest without runs", manifest, delp("runs")),
          ("manifest run of status ok", manifest, setp("runs", 0, "status", "ok")),
          ("manifest run without file", manifest, delp("runs", 0, "file")),
          ("manifest unknown member", manifest, setp("finished", True)),
          ("manifest host without accelerator", manifest, delp("host", "accelerator"))]
    return out, [(w, (lambda b=b, c=c: (lambda d: (c(d), d)[1])(copy.deepcopy(b)))()) for w, b, c in mm]


def evacuation_mutations(result, manifest):
    """guests=K: the group member and the manifest's evacuations, broken."""
    def broken(base, change):
        d = copy.deepcopy(base)
        change(d)
        return d

    def ev(d):
        return d["group"]["evacuation"]

    results = [
        ("group.guest 0", broken(result, lambda d: d["group"].__setitem__("guest", 0))),
        ("group without its scenario", broken(result, lambda d: d["group"].pop("scenario"))),
        ("group of one guest", broken(result, lambda d: d["group"].__setitem__("guests", 1))),
        ("evacuation without span_ms", broken(result, lambda d: ev(d).pop("span_ms"))),
        ("evacuation downtime spread negative", broken(
            result, lambda d: ev(d)["downtime_ms"].__setitem__("spread", -1.0))),
        ("evacuation per_guest of unknown status", broken(
            result, lambda d: ev(d)["per_guest"][0].__setitem__("status", "moved"))),
    ]
    manifests = [
        ("manifest evacuation without per_guest", broken(manifest, lambda d: d["evacuations"][0].pop("per_guest"))),
        ("manifest evacuation aggregate a string", broken(
            manifest, lambda d: d["evacuations"][0].__setitem__("aggregate_MiB_s", "fast"))),
        ("manifest evacuations an object", broken(manifest, lambda d: d.__setitem__("evacuations", {}))),
    ]
    return results, manifests


def main():
    srcdir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    t0 = time.monotonic()
    try:
        result_v, campaign_v = load_validators(os.path.join(srcdir, "results/schema"))
    except Exception as e:  # a broken schema is a failure, not a skip
        print("1..1\nnot ok 1 - results/schema: %s" % e)
        return 1

    n, failed, counts = 0, 0, [0, 0]
    for group, files in collect(srcdir):
        bad = []
        for path, is_result in files:
            counts[0 if is_result else 1] += 1
            errs = check_file(result_v if is_result else campaign_v, path, is_result)
            if errs:
                bad.append((os.path.relpath(path, srcdir), errs))
        n += 1
        nres = sum(1 for _, r in files if r)
        what = "%d result(s), %d manifest(s)" % (nres, len(files) - nres)
        if bad:
            failed += 1
            print("not ok %d - %s: %d of its %s do not match the schema" % (n, group, len(bad), what))
            for rel, errs in bad:
                for e in errs[:8]:
                    print("#   %s: %s" % (rel, e))
                if len(errs) > 8:
                    print("#   %s: ... and %d more" % (rel, len(errs) - 8))
        else:
            print("ok %d - %s: %s" % (n, group, what))

    # The negative check: a real result and a real manifest, as they are
    # (accepted), then broken (each must be refused).
    with open(os.path.join(srcdir, "tests/fixtures/results/postcopy-completed.json")) as f:
        result = json.load(f)
    with open(os.path.join(srcdir, "analysis/tests/fixtures/real-postcopy-faults/campaign.json")) as f:
        manifest = json.load(f)
    bad_results, bad_manifests = mutations(result, manifest)
    evac_dir = os.path.join(srcdir, "analysis/tests/fixtures/real-evacuation")
    with open(os.path.join(evac_dir, "evacuate,guest=2/1.json")) as f:
        evac_result = json.load(f)
    with open(os.path.join(evac_dir, "campaign.json")) as f:
        evac_manifest = json.load(f)
    bad_evac_results, bad_evac_manifests = evacuation_mutations(evac_result, evac_manifest)
    for label, validator, base, cases, is_result in (
            ("result", result_v, result, bad_results, True),
            ("manifest", campaign_v, manifest, bad_manifests, False),
            ("guests=K result", result_v, evac_result, bad_evac_results, True),
            ("guests=K manifest", campaign_v, evac_manifest, bad_evac_manifests, False)):
        n += 1
        errs = check(validator, copy.deepcopy(base), is_result)
        if errs:
            failed += 1
            print("not ok %d - the unbroken %s is accepted" % (n, label))
            for e in errs[:8]:
                print("#   %s" % e)
        else:
            print("ok %d - the unbroken %s is accepted" % (n, label))
        for what, doc in cases:
            n += 1
            errs = check(validator, doc, is_result)
            if errs:
                print("ok %d - refused: %s (%s)" % (n, what, errs[0]))
            else:
                failed += 1
                print("not ok %d - accepted, should be refused: %s" % (n, what))

    import tempfile
    with tempfile.TemporaryDirectory(prefix="schema-check-") as tmp:
        for what, path, ok in side_file_cases(result, tmp):
            n += 1
            errs = check_file(result_v, path, True)
            if bool(errs) != ok:
                print("ok %d - %s: %s" % (n, "accepted" if ok else "refused", what) +
                      ("" if ok else " (%s)" % errs[0]))
            else:
                failed += 1
                print("not ok %d - %s: %s" % (n, "accepted, should be refused" if not ok else
                                               "refused, should be accepted", what))
                for e in errs[:8]:
                    print("#   %s" % e)

    print("1..%d" % n)
    print("# %d results and %d manifests checked in %.1f s (jsonschema %s)" % (
        counts[0], counts[1], time.monotonic() - t0, getattr(jsonschema, "__version__", "?")))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
