// Occupational health works the alert queue: the urgent alert stands first
// with its time to escalation, and is taken from open through acknowledged
// and support offered to closed with an outcome, each step by its buttons,
// the focus following the alert and the closed list.
import { launch, newPage, args, focused } from './lib.mjs';
import { assert, checkView, signIn, text, viewTitle } from './console_lib.mjs';

const { base, oh, urgent, normal } = args();
const browser = await launch();
try {
  const page = await newPage(browser, 1280);
  await page.goto(base + '/?lang=de', { waitUntil: 'networkidle0' });
  await signIn(page, base, oh);
  await viewTitle(page, 'Meldungen');
  const order = await page.$$eval('#alert-queue > li', (l) => l.map((e) => e.id));
  assert(order.length === 2 && order[0] === 'alert-' + urgent && order[1] === 'alert-' + normal,
    'urgent first: ' + order);
  const first = await text(page, '#alert-' + urgent);
  assert(first.includes('dringend') && first.includes('Stand: offen'), 'urgent, open: ' + first);
  assert(/Eskaliert in (\d+ h )?\d+ min/.test(first), 'time to escalation shown: ' + first);
  assert(/Eskaliert in 2\d h/.test(await text(page, '#alert-' + normal)),
    'the other escalates within a day');
  await checkView(page, 'alerts');

  await page.click('#ack-' + urgent);
  await page.waitForSelector('#offer-' + urgent);
  let f = await focused(page);
  assert(f.id === `alert-${urgent}-title`, 'focus stays with the alert: ' + JSON.stringify(f));
  assert((await text(page, '#alert-' + urgent)).includes('Stand: bestätigt'), 'acknowledged');
  await page.type('#note-' + urgent, 'Rückruf vereinbart');
  await page.click('#offer-' + urgent);
  await page.waitForFunction((id) => document.getElementById('alert-' + id) &&
    document.getElementById('alert-' + id).textContent.includes('Unterstützung angeboten') &&
    !document.getElementById('offer-' + id), {}, urgent);
  await checkView(page, 'alert-support');
  await page.select('#outcome-' + urgent, 'accepted');
  await page.click('#close-' + urgent);
  await page.waitForFunction((id) => !document.getElementById('alert-' + id) &&
    document.getElementById('alerts-closed'), {}, urgent);
  f = await focused(page);
  assert(f.id === 'closed-title', 'focus on the closed list: ' + JSON.stringify(f));
  const closed = await text(page, '#alerts-closed tbody');
  assert(closed.includes('angenommen'), 'closed with its outcome: ' + closed);
  const left = await page.$$eval('#alert-queue > li', (l) => l.map((e) => e.id));
  assert(left.length === 1 && left[0] === 'alert-' + normal, 'one left: ' + left);
  await checkView(page, 'alerts-closed');
} finally {
  await browser.close();
}
console.log('console alerts journey ok');
