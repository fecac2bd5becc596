#!/usr/bin/env bash
# report.sh - `walkrec eval --report`: the HTML report of two models trained with --val on a
# synthetic catalogue, read back with Python's HTML parser. The figures and their series are
# there; the ROC curves enclose the AUCs of `walkrec eval --json`, the learning curves pass
# through the points in the models' metadata, precision and recall end where they must; every
# number of `walkrec eval --json` is in the tables with the same value; nothing is fetched.
set -euo pipefail
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
fail() { echo "report.sh: FAIL: $*" >&2; exit 1; }

"$WALKREC" synth -o "$W/pairs.tsv" --items 300 --pairs 2000 --categories 10 --seed 3 --quiet
"$WALKREC" split "$W/pairs.tsv" --train "$W/train.tsv" --val "$W/val.tsv" --seed 3 \
    --negatives both --quiet
small=(--dim 16 --epochs 3 --threads 1 --quiet)
"$WALKREC" train "$W/train.tsv" -o "$W/a.wr" "${small[@]}" --val "$W/val.tsv" --eval-every 6 \
    --json >"$W/a_train.json" || fail "train a.wr"
"$WALKREC" train "$W/train.tsv" -o "$W/b.wr" "${small[@]}" --val "$W/val.tsv" --eval-every 6 \
    --lr-schedule cosine --seed 2 --json >"$W/b_train.json" || fail "train b.wr"
# no learning curve, no calibration, and many unseen pairs (trained on a third of the pairs)
head -n 450 "$W/train.tsv" >"$W/train_part.tsv"
"$WALKREC" train "$W/train_part.tsv" -o "$W/c.wr" "${small[@]}" --calibration 0 || fail "train c.wr"

for m in a b c; do
    "$WALKREC" eval "$W/$m.wr" "$W/val.tsv" --train "$W/train.tsv" --json >"$W/$m.json" \
        || fail "eval $m.wr --json"
done
"$WALKREC" eval "$W/a.wr" "$W/val.tsv" --train "$W/train.tsv" --report "$W/report.html" \
    --compare "$W/b.wr" --quiet >"$W/table.txt" || fail "eval --report --compare exited non-zero"
grep -q "^AUC all" "$W/table.txt" || fail "eval --report no longer prints the table"
"$WALKREC" eval "$W/a.wr" "$W/val.tsv" --train "$W/train.tsv" --report "$W/report3.html" \
    --compare "$W/b.wr,$W/c.wr" --json >"$W/a_again.json" || fail "eval --compare b,c exited non-zero"
cmp -s "$W/a.json" "$W/a_again.json" || fail "--report changed the --json output"
if "$WALKREC" eval "$W/a.wr" "$W/val.tsv" --compare "$W/b.wr" >/dev/null 2>"$W/err"; then
    fail "--compare without --report succeeded"
fi
grep -q -- "--report" "$W/err" || fail "--compare without --report: unclear error: $(cat "$W/err")"

"$PY" - "$W" <<'EOF' || fail "report contents"
import json, re, sys
from html.parser import HTMLParser

w = sys.argv[1]
bad = []
def check(ok, what):
    if not ok:
        bad.append(what)
        print('DIFFERS:', what)

class Report(HTMLParser):
    """Figures (svg id -> frame, series, vertical lines, texts) and table cells per model."""
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.figs, self.cells, self.tags = {}, {}, []
        self.fig = self.series = self.model = None
        self.in_text = False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == 'svg':
            self.fig = {'frame': None, 'series': [], 'vlines': 0, 'texts': []}
            self.figs[a['id']] = self.fig
        elif tag == 'g' and a.get('class') == 'series':
            self.series = {'tag': a['data-series'], 'label': a['data-label'], 'points': [],
                           'marker': None, 'dash': None}
            self.fig['series'].append(self.series)
        elif tag == 'polyline' and self.series is not None:
            self.series['points'] = [tuple(map(float, p.split(','))) for p in a['points'].split()]
            self.series['dash'] = a['stroke-dasharray']
        elif tag == 'path' and self.series is not None:
            self.series['marker'] = a.get('class')
        elif tag == 'path' and a.get('class') == 'vline':
            self.fig['vlines'] += 1
        elif tag == 'rect' and a.get('class') == 'frame':
            self.fig['frame'] = tuple(float(a[k]) for k in ('x', 'y', 'width', 'height'))
        elif tag == 'text' and self.fig is not None:
            self.in_text = True
            self.fig['texts'].append('')
        elif tag == 'section':
            self.model = int(a['data-model'])
            self.cells[self.model] = {}
        elif tag == 'td' and 'data-key' in a:
            assert a['data-key'] not in self.cells[self.model], 'duplicate ' + a['data-key']
            self.cells[self.model][a['data-key']] = a['data-value']
    def handle_endtag(self, tag):
        if tag == 'svg':
            self.fig = None
        elif tag == 'g':
            self.series = None
        elif tag == 'text':
            self.in_text = False
        elif tag == 'section':
            self.model = None
    def handle_data(self, data):
        if self.in_text:
            self.fig['texts'][-1] += data

def parse(path):
    text = open(path, encoding='utf-8').read()
    for s in ('http://', 'https://', '<script', '<link', '@import', '<img', '<iframe', ' src='):
        check(s not in text.lower(), f'{path}: contains {s!r}')
    check(set(re.findall(r'url\(([^)]*)\)', text)) <= {f'#{i}-clip' for i in re.findall(r'<svg class="figure" id="([^"]+)"', text)},
          f'{path}: url() other than the figures\' clip paths')
    r = Report()
    r.feed(text)
    return r

def unit(fig, x, y):
    fx, fy, fw, fh = fig['frame']
    return (x - fx) / fw, (fy + fh - y) / fh

def area(fig, pts):
    u = [unit(fig, x, y) for x, y in pts]
    return sum((x1 - x0) * (y0 + y1) / 2 for (x0, y0), (x1, y1) in zip(u, u[1:]))

def leaves(j, pre=''):
    if isinstance(j, dict):
        for k, v in j.items():
            if k not in ('available', 'reason'):
                yield from leaves(v, f'{pre}{k}.')
    elif isinstance(j, list):
        for i, v in enumerate(j):
            yield from leaves(v, f'{pre}{i}.')
    elif not isinstance(j, bool):
        yield pre[:-1], j

def same_numbers(cells, js, name):
    want = dict(leaves(js))
    for k, v in want.items():
        got = cells.get(k, 'null' if v is None else None)
        if v is None:
            check(got == 'null', f'{name}: {k}: report {got!r}, --json null')
        elif isinstance(v, str):
            check(got == v, f'{name}: {k}: report {got!r}, --json {v!r}')
        else:
            check(got is not None and float(got) == float(v), f'{name}: {k}: report {got!r}, --json {v!r}')
    extra = set(cells) - set(want)
    check(not extra, f'{name}: keys not in --json: {sorted(extra)}')
    return len(want)

js = {m: json.load(open(f'{w}/{m}.json')) for m in 'abc'}
curve = {m: json.load(open(f'{w}/{m}_train.json'))['learning_curve'] for m in 'ab'}
val = [l.rstrip('\n').split('\t') for l in open(f'{w}/val.tsv')][1:]
pos = sum(v[2] == '1' for v in val)
uni = sum(v[2] == '0' and v[3] == 'uniform' for v in val)

# ---- report.html: a.wr and b.wr --------------------------------------------------------
r = parse(f'{w}/report.html')
want_figs = {'roc-uniform-all', 'roc-uniform-seen', 'roc-degree-all', 'roc-degree-seen',
             'threshold-all', 'threshold-seen', 'histogram-0', 'histogram-1', 'learning'}
check(set(r.figs) == want_figs, f'figures {sorted(r.figs)}, expected {sorted(want_figs)}')
names = {'0': 'a.wr', '1': 'b.wr'}
for fid, fig in r.figs.items():
    check(fig['frame'] is not None, f'{fid}: no frame')
    for s in fig['series']:
        check(len(s['points']) >= 2, f'{fid}: series {s["label"]!r} has {len(s["points"])} points')
        check(s['tag'] == 'reference' or s['marker'], f'{fid}: series {s["label"]!r} without markers')
    styles = [(s['dash'], s['marker']) for s in fig['series']]
    check(len(set(styles)) == len(styles), f'{fid}: two series share dash and marker: {styles}')
    check(any(t.strip() for t in fig['texts']), f'{fid}: no text')

# ROC: each model's curve, the baseline and the diagonal, from (0, 0) to (1, 1); the area under
# the curve is the AUC of --json, which the legend prints
def roc_check(r, models):
    for kind in ('uniform', 'degree'):
        for which in ('all', 'seen'):
            fid = f'roc-{kind}-{which}'
            fig = r.figs[fid]
            tags = sorted(s['tag'] for s in fig['series'])
            check(tags == sorted(list(models) + ['popularity', 'reference']), f'{fid}: series {tags}')
            for s in fig['series']:
                if s['tag'] == 'reference':
                    continue
                j = models['0' if s['tag'] == 'popularity' else s['tag']]
                if s['tag'] == 'popularity':
                    j = j['popularity']
                auc = (j if kind == 'uniform' else j['degree_negatives'])[f'auc_{which}']
                got = area(fig, s['points'])
                print(f'{fid:16s} {s["label"]:36s} area {got:.5f}  --json AUC {auc:.5f}')
                check(abs(got - auc) < 1e-3, f'{fid} {s["label"]}: area {got} vs AUC {auc}')
                ends = [unit(fig, *s['points'][i]) for i in (0, -1)]
                check(max(abs(ends[0][0]), abs(ends[0][1]), abs(ends[1][0] - 1), abs(ends[1][1] - 1)) < 1e-3,
                      f'{fid} {s["label"]}: from {ends[0]} to {ends[1]}')
                check(s['label'].endswith(f'AUC {auc:.4f}'), f'legend {s["label"]!r} lacks AUC {auc:.4f}')
                check(s['label'] in fig['texts'], f'{fid}: no legend text {s["label"]!r}')
roc_check(r, {'0': js['a'], '1': js['b']})

# precision and recall: both per model; at the lowest threshold recall is 1 and precision the
# share of positives among the held-out positives and uniform negatives
fig = r.figs['threshold-all']
for t, name in names.items():
    ser = {s['label'].split(': ')[-1]: s for s in fig['series'] if s['tag'] == t}
    check(sorted(ser) == ['precision', 'recall'], f'threshold-all: {name} series {sorted(ser)}')
    if sorted(ser) == ['precision', 'recall']:
        p_end = unit(fig, *ser['precision']['points'][-1])[1]
        r_end = unit(fig, *ser['recall']['points'][-1])[1]
        # within the rounding of pixels to 0.1 (1/3000 of the frame's height)
        check(abs(p_end - pos / (pos + uni)) < 3e-4, f'{name}: last precision {p_end}, want {pos / (pos + uni)}')
        check(abs(r_end - 1) < 3e-4, f'{name}: last recall {r_end}, want 1')
check(len(r.figs['threshold-seen']['series']) == 4, 'threshold-seen: not 4 series')

# histograms: positives, uniform and degree-matched negatives, each from the frame's bottom
for i in (0, 1):
    fig = r.figs[f'histogram-{i}']
    check(len(fig['series']) == 3, f'histogram-{i}: {len(fig["series"])} series')
    for s in fig['series']:
        check(abs(unit(fig, *s['points'][0])[1]) < 1e-3 and abs(unit(fig, *s['points'][-1])[1]) < 1e-3,
              f'histogram-{i} {s["label"]}: outline does not start and end at 0')

# learning curve: through the metadata's points (x = share of the run over 3 epochs, y linear
# in the AUC), two epoch boundaries
fig = r.figs['learning']
check(fig['vlines'] == 2, f'learning: {fig["vlines"]} epoch boundaries, want 2')
for t, name in names.items():
    ser = {s['label'].split(': ')[-1]: s for s in fig['series'] if s['tag'] == t}
    check(sorted(ser) == ['AUC all', 'AUC seen'], f'learning: {name} series {sorted(ser)}')
    for key, label in (('auc_all', 'AUC all'), ('auc_seen', 'AUC seen')):
        pts, c = ser[label]['points'], curve[name[0]]
        check(len(pts) == len(c) == 6, f'learning {name} {label}: {len(pts)} points, metadata {len(c)}')
        for (x, y), p in zip(pts, c):
            check(abs(unit(fig, x, y)[0] - p['progress']) < 1e-3, f'learning {name}: x {x} at progress {p["progress"]}')
        # y = a + b * auc through the first and last points fits every point
        (_, y0), (_, y1) = pts[0], pts[-1]
        a0, a1 = c[0][key], c[-1][key]
        for (x, y), p in zip(pts, c):
            check(abs(y0 + (p[key] - a0) / (a1 - a0) * (y1 - y0) - y) < 0.15,
                  f'learning {name} {label}: y {y} off the line for AUC {p[key]}')

# numbers: every value of walkrec eval --json, for each model
for i, m in ((0, 'a'), (1, 'b')):
    n = same_numbers(r.cells.get(i, {}), js[m], f'{m}.wr numbers')
    print(f'{m}.wr: {n} values of --json in the report')

# ---- report3.html: three models, the third without learning curve or calibration ---------
r3 = parse(f'{w}/report3.html')
check(sum(f.startswith('histogram-') for f in r3.figs) == 3, f'report3: figures {sorted(r3.figs)}')
print(f'c.wr: {js["c"]["pairs_unseen"]} unseen pairs of {js["c"]["pairs"]}')
check(js['c']['pairs_unseen'] > js['c']['pairs'] / 4, 'c.wr sees too many pairs to test the median')
roc_check(r3, {'0': js['a'], '1': js['b'], '2': js['c']})
check(sorted({s['tag'] for s in r3.figs['learning']['series']}) == ['0', '1'], 'report3: learning curves')
text3 = open(f'{w}/report3.html').read()
check('c.wr: no learning curve' in text3, 'report3: no note on c.wr\'s missing learning curve')
for i, m in enumerate('abc'):
    same_numbers(r3.cells.get(i, {}), js[m], f'report3 {m}.wr numbers')
check(not any(k.startswith('probability.') for k in r3.cells.get(2, {})), 'report3: c.wr has probability cells')
if bad:
    sys.exit(f'{len(bad)} checks failed')
print('report: ok')
EOF
echo "report.sh: ok"
