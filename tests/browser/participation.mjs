// The participation page by keyboard alone: a code from the link, the
// language switched, a submit with questions left out (the error summary
// takes the focus and leads to the first one), the rest answered and the
// thank-you page reached without the code in its address; a questionnaire
// of three pages, through Next, Back and a language switch. Once with
// JavaScript and once without. Every state of the page: no axe violation,
// no sideways scroll at 320 CSS px, screenshots at 360 and 1280 px.
import {
  launch, newPage, axeCheck, screenshots, assertReflows, tabTo, focused, assertClean, assert,
} from './lib.mjs';

const a = args();
const browser = await launch();

function args() {
  return JSON.parse(process.env.WH_JOURNEY_ARGS || '{}');
}

// The console's note that the document itself came with its (expected)
// error status is no problem of the page.
function expectStatus(page, status) {
  page.problems = page.problems.filter((p) => !p.includes(`status of ${status} `));
}

// axe, reflow at 320 px, screenshots: what every state of the page must pass.
async function checkState(page, name) {
  await axeCheck(page, name);
  const old = page.viewport();
  await page.setViewport({ width: 320, height: 900 });
  await assertReflows(page, name + ' at 320px');
  await page.setViewport(old);
  await screenshots(page, 'participate-' + name);
  assertClean(page);
}

async function press(page, key) {
  await page.keyboard.press(key);
}

// Enter on a link or button, and the page it leads to.
async function enterAndWait(page) {
  const [resp] = await Promise.all([page.waitForNavigation(), press(page, 'Enter')]);
  return resp;
}

const title = (page) => page.title();

// From the focused radio button of question `from` (1-based) to question
// `to`: Space chooses it, Tab moves to the next question's group; after the
// last one of the page Tab reaches the button that goes on (submit, or
// next page).
async function answerFrom(page, from, to = a.questions, lastOfPage = true) {
  for (let q = from; q <= to; q++) {
    const f = await focused(page);
    assert(f.tag === 'input' && f.id.startsWith(`q${q}-`), `question ${q} has the focus: ` +
      JSON.stringify(f));
    await press(page, 'Space');
    assert(await page.evaluate(() => document.activeElement.checked), `question ${q} chosen`);
    await press(page, 'Tab');
  }
  if (!lastOfPage) return;
  const f = await focused(page);
  assert(f.tag === 'button', 'the submit button follows the last question: ' + JSON.stringify(f));
}

async function complete(js, code) {
  const page = await newPage(browser, 1280);
  await page.setJavaScriptEnabled(js);
  await page.setExtraHTTPHeaders({ 'Accept-Language': 'en' });
  const run = js ? 'with JavaScript' : 'without JavaScript';
  let resp = await page.goto(`${a.base}/s/${a.sid}?c=${code}`);
  assert(resp.status() === 200, `${run}: the questionnaire opens (${resp.status()})`);
  assert((await page.$eval('html', (h) => h.lang)) === 'en', `${run}: in English`);

  // The language switch, by keyboard: German, the code kept.
  await tabTo(page, 'a[hreflang="de"]');
  resp = await enterAndWait(page);
  assert(resp.status() === 200 && (await page.$eval('html', (h) => h.lang)) === 'de',
         `${run}: switched to German`);
  assert(page.url().includes('c=' + code), `${run}: the code is kept across the switch`);
  assert((await title(page)).startsWith('Fragebogen – '), `${run}: title ${await title(page)}`);

  // Visible focus on a radio button.
  await tabTo(page, '#unit-0');
  const ring = await page.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return { style: s.outlineStyle, width: parseFloat(s.outlineWidth) };
  });
  assert(ring.style !== 'none' && ring.width >= 2, `${run}: focus ring ${JSON.stringify(ring)}`);
  // The unit, then the first two questions; the rest left out.
  await press(page, 'Space');
  await press(page, 'Tab');
  for (let q = 1; q <= 2; q++) {
    await press(page, 'Space');
    await press(page, 'Tab');
  }
  await tabTo(page, 'button.submit');
  resp = await enterAndWait(page);
  assert(resp.status() === 422, `${run}: 422 for the questions left out (${resp.status()})`);
  assert((await title(page)).startsWith('Fehler: '), `${run}: the title says there are errors`);
  expectStatus(page, 422);
  await page.waitForFunction(() => document.activeElement &&
                             document.activeElement.id === 'error-summary', { timeout: 5000 });
  const errors = await page.$$eval('#error-summary a', (l) => l.map((x) => x.getAttribute('href')));
  assert(errors.length === a.questions - 2 && errors[0] === '#q3-1',
         `${run}: the summary links each question left out: ${errors}`);
  assert(await page.$eval('#q1-1', (e) => e.checked), `${run}: answers given are kept`);
  if (js) await checkState(page, 'errors');

  if (js) {
    // The summary's first link leads to that question's first choice.
    await press(page, 'Tab');
    assert((await focused(page)).tag === 'a', 'the first summary link');
    await press(page, 'Enter');
    const f = await focused(page);
    assert(f.id === 'q3-1', 'the link focuses question 3: ' + JSON.stringify(f));
  } else {
    await tabTo(page, '#q3-1');
  }
  await answerFrom(page, 3);
  resp = await enterAndWait(page);
  assert(resp.status() === 200, `${run}: the thank-you page (${resp.status()})`);
  assert(/\/s\/[^/?]+\/thanks\?lang=de$/.test(page.url()), `${run}: no code in ${page.url()}`);
  assert((await title(page)) === 'Vielen Dank', `${run}: title ${await title(page)}`);
  if (js) await checkState(page, 'thanks');
  // The way back to the questionnaire: the code is used.
  resp = await page.goto(`${a.base}/s/${a.sid}?c=${code}`);
  assert(resp.status() === 403, `${run}: the code is used now (${resp.status()})`);
  expectStatus(page, 403);
  assertClean(page);
  await page.close();
}

const checkedOf = (page, ids) => page.$$eval(ids.map((i) => `#q${i}-1`).join(','),
  (l) => l.map((e) => e.checked));
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

// A questionnaire in three pages (8, 10 and 4 questions): Next, Back and the
// language buttons of a later page keep every answer; the progress is in the
// title and the heading; the last page submits.
async function paged(js, code) {
  const page = await newPage(browser, 1280);
  await page.setJavaScriptEnabled(js);
  await page.setExtraHTTPHeaders({ 'Accept-Language': 'en' });
  const run = js ? 'paged, with JavaScript' : 'paged, without JavaScript';
  const [p1, p2, p3] = a.pagedPages;
  let resp = await page.goto(`${a.base}/s/${a.pagedSid}?c=${code}`);
  assert(resp.status() === 200 && (await title(page)).startsWith('Questionnaire – Page 1 of 3'),
         `${run}: page 1 (${resp.status()}, ${await title(page)})`);
  assert((await page.$eval('h1 .progress', (e) => e.textContent)) === 'Page 1 of 3',
         `${run}: the progress in the heading`);
  if (js) await checkState(page, 'paged-1');
  await tabTo(page, '#unit-0');
  await press(page, 'Space');
  await press(page, 'Tab');
  await answerFrom(page, 1, p1);
  assert((await focused(page)).text === 'Next', `${run}: Next follows the page's questions`);
  resp = await enterAndWait(page);
  assert(resp.status() === 200 && (await title(page)).includes('Page 2 of 3'), `${run}: page 2`);
  if (js) await checkState(page, 'paged-2');
  // Page 2 has no links before its questions: Tab goes to the first one.
  await press(page, 'Tab');
  await answerFrom(page, p1 + 1, p1 + 4, false);
  await tabTo(page, 'button.back');
  resp = await enterAndWait(page);
  assert((await title(page)).includes('Page 1 of 3'), `${run}: back on page 1`);
  assert((await checkedOf(page, range(1, p1))).every((c) => c), `${run}: page 1 kept`);
  await tabTo(page, 'button.submit');
  resp = await enterAndWait(page);
  assert((await checkedOf(page, range(p1 + 1, p1 + 4))).every((c) => c),
         `${run}: page 2's first answers kept across Back`);
  // German by the form's language button: the same page, the answers kept.
  await tabTo(page, 'button[name="switch"][value="de"]');
  resp = await enterAndWait(page);
  assert(resp.status() === 200 && (await title(page)).startsWith('Fragebogen – Seite 2 von 3'),
         `${run}: page 2 in German (${await title(page)})`);
  assert((await page.$eval('html', (h) => h.lang)) === 'de', `${run}: lang="de"`);
  assert((await checkedOf(page, range(p1 + 1, p1 + 4))).every((c) => c),
         `${run}: answers kept across the language switch`);
  await tabTo(page, `#q${p1 + 5}-1`);
  await answerFrom(page, p1 + 5, p1 + p2);
  resp = await enterAndWait(page);
  assert((await title(page)).includes('Seite 3 von 3'), `${run}: page 3`);
  await press(page, 'Tab');
  await answerFrom(page, p1 + p2 + 1, p1 + p2 + p3);
  assert((await focused(page)).text === 'Antworten absenden', `${run}: the last page submits`);
  resp = await enterAndWait(page);
  assert(resp.status() === 200 && (await title(page)) === 'Vielen Dank',
         `${run}: thanks (${resp.status()}, ${await title(page)})`);
  assertClean(page);
  await page.close();
}

try {
  // Every state reached by its address.
  for (const [name, [path, status]] of Object.entries(a.states)) {
    const page = await newPage(browser, 1280);
    const resp = await page.goto(a.base + path);
    assert(resp.status() === status, `${name}: ${resp.status()}, expected ${status}`);
    const t = await title(page);
    assert(t.length > 0 && (await page.$eval('h1', (h) => h.textContent.length)) > 0,
           `${name}: a title and a heading`);
    expectStatus(page, status);
    await checkState(page, name);
    await page.close();
  }
  await complete(true, a.codes[0]);
  await complete(false, a.codes[1]);
  await paged(true, a.pagedCodes[0]);
  await paged(false, a.pagedCodes[1]);
} finally {
  await browser.close();
}
console.log('participation ok');
