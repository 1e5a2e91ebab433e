// The console: one page whose views are chosen by the address's #fragment,
// each drawn from the /v1 API with the session cookie. After a change of
// view the new view's heading takes the focus and the title follows it.
import * as api from './api.js';
import { announce, focus, h, put, table } from './dom.js';
import { apply, day, label, num, t, when } from './i18n.js';

const main = document.getElementById('main');
let me = null;
let orgNames = {};
let orgList = [];

// Which views each role has, in menu order (the first is the start view).
const MENU = {
  admin: ['surveys', 'agreements', 'report', 'networks', 'sickleave', 'deliveries'],
  coordinator: ['surveys', 'agreements', 'networks', 'sickleave', 'deliveries'],
  consultant: ['surveys', 'agreements', 'report', 'networks', 'sickleave', 'deliveries'],
  occupational_health: ['alerts', 'agreements', 'deliveries'],
};

// The built-in short questionnaire a new survey gets (German and English).
const TEMPLATE = {
  dimensions: [
    { key: 'workload', title: { de: 'Arbeitsmenge', en: 'Workload' }, higher_is_better: false },
    { key: 'support', title: { de: 'Unterstützung', en: 'Support' }, higher_is_better: true },
    { key: 'leadership', title: { de: 'Führung', en: 'Leadership' }, higher_is_better: true },
  ],
  questions: [
    ['wl1', 'workload', 'Ich habe zu viel zu tun.', 'I have too much to do.', false],
    ['wl2', 'workload', 'Ich habe genug Zeit für meine Aufgaben.', 'I have enough time for my tasks.', true],
    ['wl3', 'workload', 'Ich arbeite unter Zeitdruck.', 'I work under time pressure.', false],
    ['su1', 'support', 'Kolleginnen und Kollegen helfen mir.', 'My colleagues help me.', false],
    ['su2', 'support', 'Ich fühle mich mit Problemen allein gelassen.', 'I am left alone with problems.', true],
    ['le1', 'leadership', 'Meine Führungskraft hört mir zu.', 'My manager listens to me.', false],
    ['le2', 'leadership', 'Die Ziele meiner Arbeit sind klar.', 'The goals of my work are clear.', false],
  ].map(([key, dimension, de, en, reverse]) => ({ key, dimension, text: { de, en },
    scale: { min: 1, max: 5 }, reverse })),
};

const esc = encodeURIComponent;
// A period of sick-leave figures: a month, a quarter or a year.
const PERIOD = '^[0-9]{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$';

function dimTitle(d) {
  return (d.title && (d.title[document.documentElement.lang] || d.title.de || d.title.en)) || d.key;
}

function errorBox(e) {
  const items = (e.problem && e.problem.errors) || [];
  return h('div', { class: 'error', role: 'alert', tabindex: '-1' },
    h('h2', null, t('error', { detail: e.message })),
    items.length ? h('ul', null, items.map((x) => h('li', null,
      (x.pointer ? x.pointer + ': ' : '') + x.detail))) : null);
}

// The view's heading and a container for its body.
function view(title) {
  document.title = title + ' – workhealth';
  const h1 = h('h1', { id: 'view-title', tabindex: '-1' }, title);
  put(main, h1);
  return h1;
}

function notice(text) {
  const p = h('p', { class: 'note', tabindex: '-1' }, text);
  return p;
}

function org(id) {
  return orgNames[id] || id;
}

// ---- surveys ---------------------------------------------------------

async function surveysView() {
  view(t('surveys.title'));
  const list = await api.all('/v1/surveys');
  if (!list.length) main.append(h('p', null, t('surveys.none')));
  else {
    main.append(table(t('surveys.caption'), [t('col.title'), t('col.org'), t('col.state'),
      t('col.created')], list.map((s) => [h('a', { href: '#/surveys/' + s.id }, s.title),
      org(s.org_id), label('state', s.state), when(s.created_at)]), { id: 'surveys' }));
  }
  if (me.role === 'admin' || me.role === 'coordinator') main.append(surveyForm());
}

function field(id, text, control, help) {
  return h('p', null, h('label', { for: id }, text), h('br'), control,
    help ? h('span', { id: id + '-help', class: 'help' }, help) : null);
}

function surveyForm() {
  const employers = orgList.filter((o) => o.kind === 'employer').map((o) => [o.id, o.name]);
  const orgControl = h('select', { id: 's-org', name: 'org_id', required: true },
    employers.map(([id, name]) => h('option', { value: id }, name)));
  const errors = h('div', { id: 's-errors' });
  const form = h('form', { id: 'survey-new', novalidate: true },
    h('h2', { id: 'survey-new-title' }, t('surveys.new')), errors,
    field('s-org', t('col.org'), orgControl),
    field('s-title', t('survey.titleLabel'),
      h('input', { id: 's-title', name: 'title', type: 'text', required: true, maxlength: 200 })),
    field('s-threshold', t('survey.threshold'),
      h('input', { id: 's-threshold', name: 'threshold', type: 'number', min: 5, max: 100,
        value: 5, required: true })),
    field('s-units', t('survey.units'),
      h('textarea', { id: 's-units', name: 'units', rows: 5 })),
    h('p', { class: 'help' }, t('survey.questionnaire')),
    h('p', null, h('button', { type: 'submit', id: 's-create' }, t('survey.create'))));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const units = form.querySelector('#s-units').value.split('\n').map((l) => l.trim())
      .filter(Boolean).map((l) => {
        const [key, name, parent] = l.split(';').map((x) => (x || '').trim());
        const u = { key, name: name || key };
        if (parent) u.parent = parent;
        return u;
      });
    const body = {
      org_id: orgControl.value, title: form.querySelector('#s-title').value.trim(),
      languages: ['de', 'en'], dimensions: TEMPLATE.dimensions, questions: TEMPLATE.questions,
      units, anonymity_threshold: Number(form.querySelector('#s-threshold').value),
    };
    try {
      const s = await api.post('/v1/surveys', body);
      announce(t('survey.created', { title: s.title }));
      window.location.hash = '#/surveys/' + s.id;
    } catch (e) {
      const box = errorBox(e);
      put(errors, box);
      focus(box);
    }
  });
  return form;
}

async function surveyView(id) {
  const s = await api.get('/v1/surveys/' + esc(id));
  view(s.title);
  const msg = h('div', { id: 'survey-msg' });
  main.append(msg,
    h('dl', { class: 'facts' },
      h('dt', null, t('col.org')), h('dd', null, org(s.org_id)),
      h('dt', null, t('col.state')), h('dd', { id: 'survey-state' }, label('state', s.state)),
      h('dt', null, t('survey.threshold.show', { k: '' }).replace(/:\s*$/, '')),
      h('dd', null, String(s.anonymity_threshold)),
      h('dt', null, t('survey.units.show')),
      h('dd', null, s.units.length ? s.units.map((u) => u.name).join(', ') : '–'),
      h('dt', null, t('survey.codesIssued', { n: '' }).replace(/:\s*$/, '')),
      h('dd', { id: 'survey-codes' }, String(s.codes_issued))));
  const manager = me.role === 'admin' || me.role === 'coordinator';
  const act = async (what, done) => {
    try {
      await api.post('/v1/surveys/' + esc(id) + '/' + what);
      await surveyView(id);
      const n = notice(done);
      put(document.getElementById('survey-msg'), n);
      announce(done);
      focus(n);
    } catch (e) {
      const box = errorBox(e);
      put(msg, box);
      focus(box);
    }
  };
  if (manager && s.state === 'draft')
    main.append(h('p', null, h('button', { id: 'survey-open', type: 'button',
      onclick: () => act('open', t('survey.opened')) }, t('survey.open'))));
  if (manager && s.state === 'open')
    main.append(h('p', null, h('button', { id: 'survey-close', type: 'button',
      onclick: () => act('close', t('survey.closedNow')) }, t('survey.close'))));
  if (manager && s.state !== 'closed') main.append(codesForm(s));
  if (s.state === 'closed')
    main.append(h('p', null, h('a', { id: 'results-link', href: '#/surveys/' + s.id + '/results' },
      t('results.link'))));
}

function codesForm(s) {
  const out = h('div', { id: 'codes-out' });
  const unit = h('select', { id: 'c-unit', name: 'unit' },
    h('option', { value: '' }, t('codes.wholeOrg')),
    s.units.map((u) => h('option', { value: u.key }, u.name)));
  const radio = (value, text, checked) => h('p', null,
    h('input', { type: 'radio', name: 'delivery', id: 'c-' + value, value, checked }), ' ',
    h('label', { for: 'c-' + value }, text));
  const form = h('form', { id: 'codes', novalidate: true },
    h('h2', null, t('codes.title')),
    h('p', { class: 'help' }, t('codes.issuerNote')),
    field('c-count', t('codes.count'), h('input', { id: 'c-count', name: 'count', type: 'number',
      min: 1, max: 5000, value: 10, required: true })),
    field('c-unit', t('codes.unit'), unit),
    h('fieldset', null, h('legend', null, t('codes.delivery')),
      radio('clear', t('codes.clear'), true), radio('print', t('codes.print'), false)),
    h('p', null, h('button', { type: 'submit', id: 'c-issue' }, t('codes.issue'))), out);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const delivery = form.querySelector('input[name="delivery"]:checked').value;
    const body = { count: Number(form.querySelector('#c-count').value), delivery };
    if (unit.value) body.unit = unit.value;
    try {
      const r = await api.post('/v1/surveys/' + esc(s.id) + '/codes', body);
      if (delivery === 'print') {
        // The sheet is its own HTML page, to print from the browser.
        const a = h('a', { href: URL.createObjectURL(new Blob([r], { type: 'text/html' })),
          download: 'codes-' + s.id + '.html' }, 'codes.html');
        a.click();
        const issued = document.getElementById('survey-codes');
        if (issued) issued.textContent = String(Number(issued.textContent) + body.count);
        const n = notice(t('codes.printed', { n: body.count }));
        put(out, n);
        focus(n);
        return;
      }
      const issued = document.getElementById('survey-codes');
      if (issued) issued.textContent = String(Number(issued.textContent) + r.codes.length);
      const heading = h('h3', { id: 'codes-title', tabindex: '-1' },
        t('codes.shown', { n: r.codes.length }));
      put(out, heading, h('ol', { class: 'codes', id: 'codes-list',
        'aria-labelledby': 'codes-title' }, r.codes.map((c) => h('li', null, c))));
      focus(heading);
    } catch (e) {
      const box = errorBox(e);
      put(out, box);
      focus(box);
    }
  });
  return form;
}

function signed(x) {
  return (x > 0 ? '+' : x < 0 ? '−' : '±') + num(Math.abs(x), 1);
}

async function resultsView(id, params) {
  const s = await api.get('/v1/surveys/' + esc(id));
  view(t('results.title', { title: s.title }));
  if (s.state !== 'closed') {
    main.append(h('p', { class: 'note' }, t('results.notClosed')));
    return;
  }
  const compare = params.get('compare') || '';
  const period = params.get('sickleave') || '';
  // The view's address from its choices: the wave to compare with and the
  // period of sick-leave figures beside each unit.
  const address = (c, p) => '#/surveys/' + s.id + '/results' + (c || p ? '?' : '') +
    [c ? 'compare=' + esc(c) : '', p ? 'sickleave=' + esc(p) : ''].filter(Boolean).join('&');
  let res;
  try {
    res = await api.get('/v1/surveys/' + esc(id) + '/results?by=unit' +
      (compare ? '&compare_to=' + esc(compare) : '') +
      (period ? '&sick_leave_period=' + esc(period) : ''));
  } catch (e) {
    if (e.status === 403 && e.type === 'codes-issuer-cannot-read-results') {
      main.append(h('p', { class: 'note', id: 'results-issuer' }, t('results.issuer')));
      return;
    }
    throw e;
  }
  const k = res.anonymity_threshold;
  const dims = s.dimensions;
  main.append(h('p', { id: 'legend' }, t('results.legend', { k })));

  // The earlier waves of the same organisation to compare with.
  const earlier = (await api.all('/v1/surveys?org_id=' + esc(s.org_id) + '&state=closed'))
    .filter((x) => x.id !== s.id);
  if (earlier.length) {
    const sel = h('select', { id: 'r-compare', name: 'compare' },
      h('option', { value: '' }, t('results.compareNone')),
      earlier.map((x) => h('option', { value: x.id, selected: x.id === compare }, x.title)));
    const f = h('form', { id: 'compare' }, field('r-compare', t('results.compare'), sel),
      h('p', null, h('button', { type: 'submit' }, t('results.compareApply'))));
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      window.location.hash = address(sel.value, period);
    });
    main.append(f);
  }
  const per = h('input', { id: 'r-sickleave', type: 'text', value: period, pattern: PERIOD,
    size: 10, 'aria-describedby': 'r-sickleave-help' });
  const slForm = h('form', { id: 'results-sickleave' },
    field('r-sickleave', t('results.sickleave'), per, t('sickleave.periodHelp')),
    h('p', null, h('button', { type: 'submit' }, t('results.sickleaveApply'))));
  slForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    window.location.hash = address(compare, per.value.trim());
  });
  main.append(slForm);

  const cell = (c) => {
    if (!c || c.suppressed) {
      return { class: 'cell suppressed', node: [h('span', null, '< ' + k), ' ',
        h('span', null, '(' + t('results.suppressed') + ')')] };
    }
    const parts = [h('strong', null, num(c.mean, 1)), ' ', h('span', null, label('band', c.band))];
    if (c.change !== undefined && c.change !== null)
      parts.push(h('br'), h('small', null, t('results.change', { v: signed(c.change) })));
    return { class: 'cell band-' + c.band, node: parts };
  };
  const byDim = (row) => dims.map((d) => cell(row.dimensions.find((x) => x.dimension === d.key)));
  const count = (row) => row.suppressed ? '< ' + k : num(row.n);
  const rate = (row) => row.response_rate === null ? '–' : num(row.response_rate * 100) + ' %';
  const withSl = res.sick_leave_period !== undefined;
  const sick = (row) => {
    const x = row.sick_leave;
    if (!x) return t('results.sickleaveNone');
    if (x.suppressed || x.rate === null) return { class: 'suppressed', node: t('sickleave.suppressed') };
    return num(x.rate, 2) + ' %';
  };
  const extra = (row) => withSl ? [sick(row)] : [];
  const rows = [[t('results.total'), count(res.total), rate(res.total), ...extra(res.total),
    ...byDim(res.total)]];
  for (const u of res.units) {
    rows.push([{ class: 'level-' + Math.min(u.level, 3), node: u.name }, count(u), rate(u),
      ...extra(u), ...byDim(u)]);
  }
  const headers = [t('col.unit'), t('col.n'), t('col.rate'),
    ...(withSl ? [t('results.sickleaveCol', { period: res.sick_leave_period })] : []),
    ...dims.map((d) => ({ node: [dimTitle(d), h('br'),
      h('small', null, '(' + t(d.higher_is_better ? 'dim.higher' : 'dim.lower') + ')')] }))];
  main.append(table(t('results.caption'), headers, rows, { id: 'heatmap', class: 'heatmap' }));

  const unitName = (key) => key === null ? t('results.total')
    : ((res.units.find((u) => u.unit === key) || {}).name || key);
  const unitSick = (key) => {
    if (!withSl) return '';
    const row = key === null ? res.total : res.units.find((u) => u.unit === key);
    const c = row ? sick(row) : t('results.sickleaveNone');
    return '; ' + t('results.sickleaveLine', { period: res.sick_leave_period }) + ': ' +
      (typeof c === 'string' ? c : c.node);
  };
  const dimName = (key) => dimTitle(dims.find((d) => d.key === key) || { key });
  const highlights = (title, id, list) => [h('h2', { id }, title),
    list.length ? h('ul', null, list.map((x) => h('li', null,
      unitName(x.unit) + ' – ' + dimName(x.dimension) + ': ' + num(x.mean, 1) + ' (' +
      label('band', x.band) + ')' + unitSick(x.unit)))) : h('p', null, t('results.noHighlights'))];
  main.append(...highlights(t('results.hotspots'), 'hotspots', res.hotspots),
    ...highlights(t('results.resources'), 'resources', res.resources));
  main.append(h('p', null, h('a', { id: 'results-csv', download: 'results-' + s.id + '.csv',
    href: '/v1/surveys/' + esc(s.id) + '/results.csv' +
      (compare ? '?compare_to=' + esc(compare) : '') }, t('results.csv'))));
}

// ---- alerts ----------------------------------------------------------

const settingsCache = {};
async function escalationHours(orgId) {
  if (!settingsCache[orgId]) {
    settingsCache[orgId] = api.get('/v1/screening/settings/' + esc(orgId)).catch(() =>
      ({ escalate_after_hours: 24, escalate_urgent_after_hours: 1 }));
  }
  return settingsCache[orgId];
}

function duration(ms) {
  const m = Math.max(0, Math.round(ms / 60000));
  return (m >= 60 ? Math.floor(m / 60) + ' h ' : '') + (m % 60) + ' min';
}

async function alertsView(focusId) {
  view(t('alerts.title'));
  main.append(h('p', null, t('alerts.intro')));
  const alerts = await api.all('/v1/alerts');
  const queue = alerts.filter((a) => a.state !== 'closed').sort((a, b) =>
    (b.urgent - a.urgent) || a.opened_at.localeCompare(b.opened_at));
  const closed = alerts.filter((a) => a.state === 'closed');
  const list = h('ul', { class: 'alerts', id: 'alert-queue' });
  for (const a of queue) list.append(await alertItem(a));
  main.append(queue.length ? list : h('p', null, t('alerts.none')));
  const closedTitle = h('h2', { id: 'closed-title', tabindex: '-1' }, t('alerts.closedTitle'));
  main.append(closedTitle);
  if (closed.length) {
    main.append(table(t('alerts.closedTitle'), [t('alerts.heading', { subject: '' }).trim(),
      t('alerts.urgent'), t('col.created'), t('alert.closed'), t('alerts.outcome')],
    closed.map((a) => [a.subject, a.urgent ? t('yes') : t('no'), when(a.opened_at),
      when(a.closed_at), label('outcome', a.outcome)]), { id: 'alerts-closed' }));
  } else main.append(h('p', null, t('alerts.noneClosed')));
  if (focusId) focus(document.getElementById('alert-' + focusId + '-title') || closedTitle);
}

async function alertItem(a) {
  const hours = await escalationHours(a.org_id);
  let esc_;
  if (a.escalated_at) esc_ = t('alerts.escalated', { at: when(a.escalated_at) });
  else if (a.state === 'open') {
    const limit = (a.urgent ? hours.escalate_urgent_after_hours : hours.escalate_after_hours) * 3600e3;
    const left = Date.parse(a.opened_at) + limit - Date.now();
    esc_ = left > 0 ? t('alerts.escalatesIn', { t: duration(left) }) : t('alerts.overdue');
  }
  const titleId = 'alert-' + a.id + '-title';
  const li = h('li', { class: 'alert' + (a.urgent ? ' urgent' : ''), id: 'alert-' + a.id,
    'aria-labelledby': titleId },
  h('h3', { id: titleId, tabindex: '-1' }, t('alerts.heading', { subject: a.subject }), ' ',
    h('span', { class: 'tag' + (a.urgent ? ' urgent' : '') },
      a.urgent ? t('alerts.urgent') : t('alerts.normal'))),
  h('p', null, t('alerts.state', { state: label('alert', a.state) }), h('br'),
    t('alerts.opened', { at: when(a.opened_at) }), esc_ ? [h('br'), esc_] : null,
    a.note ? [h('br'), t('alerts.noteShow', { note: a.note })] : null));
  const msg = h('div');
  const run = async (path, body, done) => {
    try {
      const r = await api.post('/v1/alerts/' + esc(a.id) + '/' + path, body);
      await alertsView(a.id);
      announce(t('alerts.done', { subject: a.subject, state: label('alert', r.state) }));
    } catch (e) {
      const box = errorBox(e);
      put(msg, box);
      focus(box);
    }
  };
  const actions = h('div', { class: 'actions' });
  if (a.state === 'open') {
    actions.append(h('button', { type: 'button', id: 'ack-' + a.id,
      onclick: () => run('acknowledge', {}) }, t('alerts.ack')));
  }
  if (a.state === 'acknowledged') {
    const note = h('textarea', { id: 'note-' + a.id, rows: 2, maxlength: 500 });
    const f = h('form', { class: 'offer' }, field('note-' + a.id, t('alerts.note'), note),
      h('p', null, h('button', { type: 'submit', id: 'offer-' + a.id }, t('alerts.offer'))));
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      run('offer-support', note.value.trim() ? { note: note.value.trim() } : {});
    });
    actions.append(f);
  }
  if (a.state === 'acknowledged' || a.state === 'support_offered') {
    const sel = h('select', { id: 'outcome-' + a.id },
      ['accepted', 'declined', 'no_contact'].map((o) => h('option', { value: o },
        label('outcome', o))));
    const f = h('form', { class: 'close' }, field('outcome-' + a.id, t('alerts.outcome'), sel),
      h('p', null, h('button', { type: 'submit', id: 'close-' + a.id }, t('alerts.close'))));
    f.addEventListener('submit', (ev) => {
      ev.preventDefault();
      run('close', { outcome: sel.value });
    });
    actions.append(f);
  }
  li.append(actions, msg);
  return li;
}

// ---- agreements ------------------------------------------------------

function toNotice(a) {
  if (a.phase === 'expired' || !a.notice_deadline) return '–';
  const d = a.days_remaining - a.notice_days;
  return d < 0 ? t('deadlinePassed') : t('days', { n: num(d) });
}

async function agreementsView() {
  view(t('agreements.title'));
  const list = await api.all('/v1/agreements');
  if (!list.length) { main.append(h('p', null, t('agreements.none'))); return; }
  main.append(table(t('agreements.caption'), [t('col.title'), t('col.phase'), t('col.state'),
    t('col.ends'), t('col.notice'), t('col.daysNotice')], list.map((a) => [
    h('a', { href: '#/agreements/' + a.id }, a.title), label('phase', a.phase), a.state,
    day(a.ends_on), day(a.notice_deadline), toNotice(a)]), { id: 'agreements' }));
}

async function agreementView(id) {
  const a = await api.get('/v1/agreements/' + esc(id));
  view(a.title);
  const [acts, rem] = await Promise.all([
    api.all('/v1/agreements/' + esc(id) + '/activities'),
    api.get('/v1/agreements/' + esc(id) + '/reminders')]);
  main.append(h('dl', { class: 'facts' },
    h('dt', null, t('col.phase')), h('dd', null, label('phase', a.phase)),
    h('dt', null, t('col.state')), h('dd', null, a.state),
    h('dt', null, t('agreement.term', { from: '', to: '' }).split(':')[0]),
    h('dd', null, day(a.starts_on) + ' – ' + day(a.ends_on)),
    h('dt', null, t('col.notice')), h('dd', null, day(a.notice_deadline)),
    h('dt', null, t('col.daysNotice')), h('dd', null, toNotice(a))));
  main.append(h('h2', null, t('agreement.activities')));
  main.append(acts.length ? table(t('agreement.activities'), [t('col.title'), t('col.kind'),
    t('col.planned'), t('col.status'), t('col.participants')], acts.map((x) => [x.title,
    label('kind', x.kind), day(x.planned_on), label('status', x.status),
    x.participants === null || x.participants === undefined ? '–' : num(x.participants)]))
    : h('p', null, t('agreement.noActivities')));
  main.append(h('h2', null, t('agreement.reminders')));
  main.append(table(t('agreement.reminders'), [t('col.due'), t('col.kind'), t('col.daysBefore'),
    t('col.status'), t('col.sent')], rem.items.map((r) => [day(r.due_on), r.kind,
    r.days_before === null ? '–' : num(r.days_before), label('status', r.status),
    when(r.sent_at)])));
}

// ---- prevention report -----------------------------------------------

let chartCount = 0;
// A horizontal bar chart as inline SVG, with the same figures in a table.
function barChart(caption, rows) {
  const id = 'chart-' + (++chartCount);
  const max = Math.max(1, ...rows.map((r) => r[1]));
  const rowH = 30, left = 190, width = 640, barMax = width - left - 60;
  const svg = h('svg:svg', { viewBox: '0 0 ' + width + ' ' + (rows.length * rowH + 10),
    role: 'img', 'aria-labelledby': id + '-cap', 'aria-describedby': id + '-note',
    width, height: rows.length * rowH + 10 });
  rows.forEach(([name, value], i) => {
    const y = i * rowH + 5;
    const w = Math.round((value / max) * barMax);
    svg.append(h('svg:text', { x: left - 8, y: y + 19, 'text-anchor': 'end' }, name),
      h('svg:rect', { class: 'bar', x: left, y: y + 4, width: Math.max(w, 1), height: rowH - 10 }),
      h('svg:text', { x: left + w + 6, y: y + 19 }, num(value)));
  });
  svg.append(h('svg:line', { class: 'axis', x1: left, y1: 0, x2: left, y2: rows.length * rowH + 10 }));
  return h('figure', null, h('figcaption', { id: id + '-cap' }, caption),
    h('p', { id: id + '-note', class: 'help' }, t('report.chartNote')), svg,
    table(caption, [t('col.kind'), t('col.count')], rows.map(([n, v]) => [n, num(v)])));
}

async function reportView(params) {
  view(t('report.title'));
  const orgs = await api.all('/v1/organizations');
  const insurers = orgs.filter((o) => o.kind === 'insurer');
  if (!insurers.length) { main.append(h('p', null, t('report.noInsurer'))); return; }
  const insurer = params.get('insurer') || insurers[0].id;
  const year = Number(params.get('year')) || new Date().getUTCFullYear();
  const sel = h('select', { id: 'rep-insurer' }, insurers.map((o) =>
    h('option', { value: o.id, selected: o.id === insurer }, o.name)));
  const yr = h('input', { id: 'rep-year', type: 'number', min: 2000, max: 2100, value: year });
  const f = h('form', { id: 'report-form' }, field('rep-insurer', t('report.insurer'), sel),
    field('rep-year', t('report.year'), yr),
    h('p', null, h('button', { type: 'submit' }, t('report.show'))));
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    window.location.hash = '#/report?insurer=' + esc(sel.value) + '&year=' + esc(yr.value);
  });
  main.append(f);
  const r = await api.get('/v1/reports/prevention?insurer_id=' + esc(insurer) + '&year=' + year);
  main.append(h('h2', null, t('report.figures', { year: r.year })),
    h('dl', { class: 'facts', id: 'report-figures' }, ['agreements_active', 'agreements_new',
      'organizations', 'employees_covered', 'activities_done', 'participants'].map((k) =>
      [h('dt', null, t('report.' + k)), h('dd', null, num(r[k]))])));
  main.append(h('h2', null, t('report.byKind')),
    barChart(t('report.byKind'), r.by_kind.map((x) => [label('kind', x.kind), x.activities_done])),
    h('h2', null, t('report.byFocus')),
    barChart(t('report.byFocus'), r.by_focus_area.map((x) => [label('focus', x.focus_area),
      x.agreements])));
}

// ---- networks --------------------------------------------------------

// One dimension's quartile box (p25 to p75, the median a line) and the
// network mean and own mean as marks, on the scale lo..hi; its words are
// in the row's own cells, the aria-label says them again.
function boxPlot(d, own, lo, hi, words) {
  const width = 220, height = 36, pad = 10;
  const x = (v) => pad + ((v - lo) / (hi - lo)) * (width - 2 * pad);
  const svg = h('svg:svg', { viewBox: '0 0 ' + width + ' ' + height, width, height,
    role: 'img', 'aria-label': words, class: 'box' });
  svg.append(h('svg:line', { class: 'axis', x1: pad, y1: height - 6, x2: width - pad,
    y2: height - 6 }));
  if (d.p25 !== null && d.p75 !== null) {
    svg.append(h('svg:rect', { class: 'bar', x: x(d.p25), y: 8,
      width: Math.max(1, x(d.p75) - x(d.p25)), height: 16 }),
    h('svg:line', { class: 'median', x1: x(d.median), y1: 4, x2: x(d.median), y2: 28 }));
  }
  svg.append(h('svg:circle', { class: 'mean', cx: x(d.mean), cy: 16, r: 4 }));
  if (own) {
    svg.append(h('svg:path', { class: 'own',
      d: 'M' + x(own.mean) + ' 2 l5 8 h-10 z' }));
  }
  return svg;
}

async function networksView(params) {
  view(t('networks.title'));
  const list = await api.all('/v1/networks');
  if (!list.length) { main.append(h('p', null, t('networks.none'))); return; }
  main.append(table(t('networks.caption'), [t('col.name'), t('networks.description'),
    t('networks.members')], list.map((n) => [n.name, n.description || '–',
    num((n.members || []).length)]), { id: 'networks' }));
  const nid = params.get('network') || list[0].id;
  const year = Number(params.get('year')) || new Date().getUTCFullYear() - 1;
  const templates = await api.all('/v1/networks/' + esc(nid) + '/templates');
  const tid = params.get('template') || (templates[0] && templates[0].id) || '';
  const netSel = h('select', { id: 'n-network' }, list.map((n) =>
    h('option', { value: n.id, selected: n.id === nid }, n.name)));
  const tplSel = h('select', { id: 'n-template' }, templates.map((x) =>
    h('option', { value: x.id, selected: x.id === tid }, x.title)));
  const yr = h('input', { id: 'n-year', type: 'number', min: 2000, max: 2100, value: year });
  const f = h('form', { id: 'benchmark-form' },
    h('h2', null, t('networks.benchmark')),
    field('n-network', t('networks.network'), netSel),
    field('n-template', t('networks.template'), tplSel),
    field('n-year', t('report.year'), yr),
    h('p', null, h('button', { type: 'submit' }, t('report.show'))));
  netSel.addEventListener('change', () => {
    window.location.hash = '#/networks?network=' + esc(netSel.value) + '&year=' + esc(yr.value);
  });
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    window.location.hash = '#/networks?network=' + esc(netSel.value) + '&year=' +
      esc(yr.value) + '&template=' + esc(tplSel.value);
  });
  main.append(f);
  if (!tid) { main.append(h('p', { class: 'note', id: 'benchmark-none' }, t('networks.noTemplate'))); return; }
  let b;
  try {
    b = await api.get('/v1/networks/' + esc(nid) + '/benchmarks/' + year + '?template_id=' +
      esc(tid));
  } catch (e) {
    if (e.status === 404) {
      main.append(h('p', { class: 'note', id: 'benchmark-none' },
        t('networks.notPublished', { year })));
      return;
    }
    throw e;
  }
  const tpl = templates.find((x) => x.id === tid) || { dimensions: [] };
  const dimName = (key) => dimTitle((tpl.dimensions || []).find((d) => d.key === key) || { key });
  const values = [];
  for (const d of b.dimensions) {
    values.push(d.mean);
    for (const o of d.own || []) values.push(o.mean);
  }
  // Scores run from 0 to 100; a scale of 1 to 5 when all figures are on it.
  const small = values.every((v) => v >= 1 && v <= 5);
  const lo = small ? 1 : Math.min(0, ...values), hi = small ? 5 : Math.max(100, ...values);
  const fmt = (v) => v === null || v === undefined ? '–' : num(v, 2);
  main.append(h('p', { id: 'benchmark-facts' }, t('networks.facts', { year: b.year,
    contributors: num(b.contributors), members: num(b.members), min: num(b.min_orgs) })),
  h('p', { class: 'help' }, t('networks.chartNote')));
  const rows = b.dimensions.map((d) => {
    const own = (d.own || [])[0];
    const few = d.p25 === null;
    const ownWords = own ? t('networks.quartile.' + own.quartile) : t('networks.noOwn');
    const words = dimName(d.dimension) + ': ' + (few ? t('networks.fewOrgs')
      : t('networks.boxWords', { p25: fmt(d.p25), median: fmt(d.median), p75: fmt(d.p75) })) +
      '; ' + t('networks.meanWords', { mean: fmt(d.mean) }) +
      (own ? '; ' + t('networks.ownWords', { mean: fmt(own.mean), q: ownWords }) : '');
    return [dimName(d.dimension), num(d.orgs),
      few ? { class: 'few', node: t('networks.fewOrgs') } : fmt(d.p25),
      few ? '–' : fmt(d.median), few ? '–' : fmt(d.p75), fmt(d.mean),
      own ? fmt(own.mean) : '–', ownWords, { node: boxPlot(d, own, lo, hi, words) }];
  });
  main.append(table(t('networks.caption.benchmark', { year: b.year }), [t('col.dimension'),
    t('networks.orgs'), 'P25', t('networks.median'), 'P75', t('networks.mean'),
    t('networks.own'), t('networks.ownQuartile'), t('networks.chart')], rows,
  { id: 'benchmark' }));
}

// ---- sick leave ------------------------------------------------------

async function sickLeaveView(params) {
  view(t('sickleave.title'));
  const employers = orgList.filter((o) => o.kind === 'employer');
  if (!employers.length) { main.append(h('p', null, t('sickleave.noOrg'))); return; }
  const orgId = params.get('org') || employers[0].id;
  const period = params.get('period') || '';
  const by = params.get('by') === 'icd_chapter' ? 'icd_chapter' : 'unit';
  const orgSel = h('select', { id: 'sl-org' }, employers.map((o) =>
    h('option', { value: o.id, selected: o.id === orgId }, o.name)));
  const per = h('input', { id: 'sl-period', type: 'text', required: true, value: period,
    pattern: PERIOD, 'aria-describedby': 'sl-period-help', size: 10 });
  const radio = (value) => h('p', null,
    h('input', { type: 'radio', name: 'by', id: 'sl-by-' + value, value, checked: value === by }),
    ' ', h('label', { for: 'sl-by-' + value }, t('sickleave.by.' + value)));
  const f = h('form', { id: 'sickleave-form', novalidate: true },
    field('sl-org', t('col.org'), orgSel),
    field('sl-period', t('sickleave.period'), per, t('sickleave.periodHelp')),
    h('fieldset', null, h('legend', null, t('sickleave.by')), radio('unit'),
      radio('icd_chapter')),
    h('p', null, h('button', { type: 'submit', id: 'sl-show' }, t('report.show'))));
  const out = h('div', { id: 'sickleave-out' });
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!new RegExp(PERIOD).test(per.value.trim())) {
      const box = h('div', { class: 'error', role: 'alert', tabindex: '-1' },
        h('p', null, t('sickleave.badPeriod')));
      put(out, box);
      focus(box);
      return;
    }
    const chosen = f.querySelector('input[name="by"]:checked').value;
    window.location.hash = '#/sickleave?org=' + esc(orgSel.value) + '&period=' +
      esc(per.value.trim()) + '&by=' + esc(chosen);
  });
  main.append(f, out);
  if (!period) return;
  let r;
  try {
    r = await api.get('/v1/sick-leave?org_id=' + esc(orgId) + '&period=' + esc(period) +
      '&by=' + by);
  } catch (e) {
    if (e.status === 404) {
      put(out, h('p', { class: 'note', id: 'sickleave-none' },
        t('sickleave.none', { period, org: org(orgId) })));
      return;
    }
    throw e;
  }
  const hidden = { class: 'suppressed', node: t('sickleave.suppressed') };
  const fig = (it, v, d = 0) => it.suppressed || v === null || v === undefined ? hidden : num(v, d);
  const headers = [t('col.unit')];
  if (by === 'icd_chapter') headers.push(t('sickleave.chapter'));
  headers.push(t('sickleave.insured'), t('sickleave.cases'), t('sickleave.days'),
    t('sickleave.rate'));
  const rows = r.items.map((it) => {
    const row = [it.unit === null ? t('codes.wholeOrg') : it.unit];
    if (by === 'icd_chapter') row.push(it.icd_chapter === null ? t('sickleave.allChapters')
      : it.icd_chapter);
    row.push(fig(it, it.insured), fig(it, it.cases), fig(it, it.days),
      it.suppressed || it.rate === null ? hidden : num(it.rate, 2) + ' %');
    return row;
  });
  const parts = [h('h2', null, t('sickleave.caption', { org: org(orgId), period: r.period })),
    h('p', { class: 'help' }, t('sickleave.legend'))];
  if (r.sector) {
    parts.push(h('p', { id: 'sickleave-sector' }, r.sector.rate === null
      ? t('sickleave.sectorFew', { name: r.sector.name, orgs: num(r.sector.orgs) })
      : t('sickleave.sector', { name: r.sector.name, orgs: num(r.sector.orgs),
        rate: num(r.sector.rate, 2) })));
  }
  parts.push(table(t('sickleave.caption', { org: org(orgId), period: r.period }), headers, rows,
    { id: 'sickleave' }));
  put(out, ...parts);
}

// ---- notifications ---------------------------------------------------

async function deliveriesView(params) {
  view(t('deliveries.title'));
  const status = params.get('status') || '';
  const [subs, dels] = await Promise.all([api.all('/v1/subscriptions', 4),
    api.get('/v1/deliveries' + (status ? '?status=' + esc(status) : ''))]);
  main.append(h('h2', null, t('subscriptions.caption')));
  main.append(subs.length ? table(t('subscriptions.caption'), [t('col.target'), t('col.channel'),
    t('col.org'), t('col.events')], subs.map((s) => [s.target, s.channel, org(s.org_id),
    s.events.join(', ')])) : h('p', null, t('deliveries.none')));
  main.append(h('h2', null, t('deliveries.caption')));
  const sel = h('select', { id: 'd-status' }, ['', 'pending', 'delivered', 'failed'].map((v) =>
    h('option', { value: v, selected: v === status }, v ? label('status', v) : t('deliveries.all'))));
  const f = h('form', { id: 'deliveries-filter' }, field('d-status', t('deliveries.filter'), sel),
    h('p', null, h('button', { type: 'submit' }, t('report.show'))));
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    window.location.hash = '#/deliveries' + (sel.value ? '?status=' + esc(sel.value) : '');
  });
  main.append(f);
  const msg = h('div');
  main.append(msg);
  main.append(dels.items.length ? table(t('deliveries.caption'), [t('col.event'), t('col.channel'),
    t('col.target'), t('col.status'), t('col.attempts'), ''], dels.items.map((d) => [
    d.event_type, d.channel, d.target, label('status', d.status), num(d.attempts.length),
    d.status === 'failed' ? h('button', { type: 'button', onclick: async () => {
      try {
        await api.post('/v1/deliveries/' + esc(d.id) + '/retry');
        const n = notice(t('deliveries.retried'));
        put(msg, n);
        focus(n);
      } catch (e) { const b = errorBox(e); put(msg, b); focus(b); }
    } }, t('deliveries.retry')) : '–'])) : h('p', null, t('deliveries.none')));
}

// ---- the shell -------------------------------------------------------

function parse() {
  const raw = window.location.hash.replace(/^#\/?/, '');
  const [path, query] = raw.split('?');
  return { parts: path.split('/').filter(Boolean), params: new URLSearchParams(query || '') };
}

function renderNav(current) {
  const ul = document.getElementById('nav-list');
  put(ul, (MENU[me.role] || []).map((v) => h('li', null, h('a', { href: '#/' + v,
    'aria-current': v === current ? 'page' : null }, t('nav.' + v)))));
}

async function route(moveFocus) {
  const { parts, params } = parse();
  const menu = MENU[me.role] || [];
  const top = parts[0] || menu[0];
  renderNav(top);
  try {
    if (!menu.includes(top)) { view(t('notFound')); }
    else if (top === 'surveys' && parts[1] && parts[2] === 'results') await resultsView(parts[1], params);
    else if (top === 'surveys' && parts[1]) await surveyView(parts[1]);
    else if (top === 'surveys') await surveysView();
    else if (top === 'alerts') await alertsView();
    else if (top === 'agreements' && parts[1]) await agreementView(parts[1]);
    else if (top === 'agreements') await agreementsView();
    else if (top === 'report') await reportView(params);
    else if (top === 'networks') await networksView(params);
    else if (top === 'sickleave') await sickLeaveView(params);
    else if (top === 'deliveries') await deliveriesView(params);
  } catch (e) {
    if (e.status === 401) return;
    if (!document.getElementById('view-title')) view(t('error', { detail: '' }));
    main.append(errorBox(e));
  }
  if (moveFocus) focus(document.getElementById('view-title'));
}

function chrome() {
  apply(document, document.getElementById('langs'), () => { chrome(); route(false); });
  document.getElementById('who').textContent = t('signedIn', { label: me.label,
    role: label('role', me.role) });
}

async function start() {
  try {
    me = await api.session();
  } catch (e) {
    window.location.replace('/');
    return;
  }
  try {
    orgList = await api.all('/v1/organizations', 5);
    for (const o of orgList) orgNames[o.id] = o.name;
  } catch (e) {
    orgNames = {};
  }
  if (me.role !== 'admin') for (const id of me.org_ids) if (!orgNames[id]) orgNames[id] = id;
  chrome();
  document.getElementById('signout').addEventListener('click', async () => {
    try { await api.signOut(); } finally { window.location.replace('/'); }
  });
  window.addEventListener('hashchange', () => route(true));
  await route(false);
}

start();
