// Browser test of the web console, driven by cmd/earshot's TestConsole
// (Go owns the sandbox Asterisk and the simulated phones). Protocol: this
// script prints "STEP <name>" when it needs the harness and waits for a
// line "ok" on stdin; at the end it prints "REQUESTS <json>" (every API
// request the page made) and "SHOT <file>" for each screenshot.
//   node console.mjs BASE_URL SCREENSHOT_DIR
import { chromium } from 'playwright-core';
import readline from 'node:readline';
import path from 'node:path';

const [base, shots] = process.argv.slice(2);
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

async function step(name) {
  console.log(`STEP ${name}`);
  const { value } = await lines.next();
  if (value !== 'ok') throw new Error(`harness answered ${value} to ${name}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
page.setDefaultTimeout(10000);
const requests = new Set();
page.on('request', (r) => {
  const u = new URL(r.url());
  if (u.origin === new URL(base).origin) requests.add(`${r.method()} ${u.pathname}`);
});
page.on('pageerror', (e) => { console.log(`PAGEERROR ${e.message}`); });

// shot saves the page at phone and desktop width.
async function shot(name) {
  for (const [label, size] of [['phone', { width: 390, height: 844 }], ['desktop', { width: 1280, height: 800 }]]) {
    await page.setViewportSize(size);
    const file = path.join(shots, `${name}-${label}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`SHOT ${file}`);
  }
}

const banner = page.locator('#session');

try {
  // Sign in.
  await page.goto(base);
  await page.getByLabel('User name').waitFor();
  await shot('signin');
  await page.getByLabel('User name').fill('sara');
  await page.getByLabel('Password').fill('wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#notice', { hasText: 'Wrong user name or password' }).waitFor();
  await page.getByLabel('Password').fill('change-me');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Service pools' }).waitFor();
  await shot('pools');

  // A pool's users; alice's call appears live, without a reload.
  await page.getByRole('link', { name: 'Sales' }).click();
  await page.getByRole('heading', { name: 'Sales' }).waitFor();
  await step('service-call');
  await page.locator('li[data-user="alice"]', { hasText: 'On a service call' }).waitFor();
  await shot('pool');

  // Listen: the supervising number, a tel: link, a countdown and a QR code.
  await page.getByRole('link', { name: 'Alice Agent' }).click();
  await page.getByRole('button', { name: 'Listen' }).click();
  const offer = page.getByRole('region', { name: 'Listen offer' });
  await offer.waitFor();
  const tel = await offer.getByRole('link').getAttribute('href');
  if (!tel.startsWith('tel:+')) throw new Error(`dial link ${tel}`);
  await offer.getByRole('img', { name: /QR code of tel:/ }).locator('svg').waitFor();
  await offer.locator('.countdown', { hasText: /^[0-9]+:[0-9]{2}$/ }).waitFor();
  await shot('offer');

  // The supervisor dials in: the session appears, in listen mode.
  await step('supervisor-call');
  await banner.getByText('Supervising alice').waitFor();
  await banner.getByRole('button', { name: 'Listen', pressed: true }).waitFor();
  await shot('session');

  // Whisper from the page; the harness checks who hears whom.
  await banner.getByRole('button', { name: 'Whisper' }).click();
  await banner.getByRole('button', { name: 'Whisper', pressed: true }).waitFor();
  await step('whisper');

  // A change made elsewhere shows on the page.
  await step('barge-elsewhere');
  const t0 = Date.now();
  await banner.getByRole('button', { name: 'Barge', pressed: true }).waitFor();
  console.log(`ELSEWHERE ${Date.now() - t0}`);

  // Supervise / Stop supervising, and the supervised-users list.
  await page.getByRole('button', { name: 'Supervise', exact: true }).click();
  await page.getByRole('button', { name: 'Stop supervising' }).waitFor();
  await page.getByRole('link', { name: 'Supervised users' }).click();
  await page.getByRole('heading', { name: 'Supervised users' }).waitFor();
  await page.getByRole('link', { name: 'Alice Agent' }).waitFor();
  await shot('supervised');

  // Hang up: the page shows it ended.
  await banner.getByRole('button', { name: 'Hang up' }).click();
  await banner.getByText('Supervising ended').waitFor();
  await step('ended');

  // Settings: an invalid number is refused with a clear message.
  await page.getByRole('link', { name: 'Settings' }).click();
  const phone = page.getByLabel('Your phone number');
  await phone.waitFor();
  const saved = await phone.inputValue();
  await phone.fill('12');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('#phone-error:not(:empty)').waitFor();
  await shot('settings');
  await phone.fill(saved);
  await page.getByRole('button', { name: 'Save' }).click();
  await page.locator('#notice', { hasText: 'Saved' }).waitFor();

  // Keyboard: the skip link moves focus to the content.
  await page.locator('a.skip').focus();
  await page.keyboard.press('Enter');
  const active = await page.evaluate(() => document.activeElement.id);
  if (active !== 'main') throw new Error(`skip link focused #${active}, want #main`);

  // Sign out, then an expired token returns to sign-in with a message.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByLabel('User name').waitFor();
  await page.evaluate(() => sessionStorage.setItem('earshot.token', 'expired.token.value'));
  await page.reload();
  await page.locator('#notice', { hasText: 'expired' }).waitFor();
  await page.getByLabel('User name').waitFor();

  console.log(`REQUESTS ${JSON.stringify([...requests].sort())}`);
} catch (e) {
  await page.screenshot({ path: path.join(shots, 'failure.png'), fullPage: true }).catch(() => {});
  console.log(`FAIL ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
  // stdin (the harness's answers) would keep node running.
  process.exit(process.exitCode ?? 0);
}
