// Progressive enhancement of the participation page; everything works
// without it. An error summary takes the focus where the browser ignored
// its autofocus, and its links focus the first radio button of the
// question they name (a plain fragment link only scrolls there).
'use strict';

document.addEventListener('DOMContentLoaded', () => {
  const summary = document.getElementById('error-summary');
  if (!summary) return;
  if (document.activeElement !== summary) summary.focus();
  summary.addEventListener('click', (e) => {
    const link = e.target.closest('a[href^="#"]');
    if (!link) return;
    const target = document.getElementById(link.getAttribute('href').slice(1));
    if (!target) return;
    e.preventDefault();
    const fieldset = target.closest('fieldset');
    const legend = fieldset && fieldset.querySelector('legend');
    (legend || target).scrollIntoView({ block: 'start' });
    target.focus({ preventScroll: true });
  });
});
