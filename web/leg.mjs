// Supervising from the browser itself (Listen here): the page is the
// supervisor's leg. Call audio arrives over the session's media WebSocket
// as 20 ms frames of 16 kHz signed 16-bit PCM and plays through an audio
// worklet; in whisper and barge the microphone (asked for only then, with
// the browser's echo cancellation) goes back the same way. The state is
// said honestly: connecting, live, reconnecting, ended.
import { state } from './api.mjs';

const GRACE_MS = 10000; // the server keeps a session this long without a link

let leg = null; // { id, ws, ctx, node, analyser, mic, state, level, retryUntil, onChange }

// connectionText is the leg's state in words, for the banner.
export const STATE_TEXT = {
  connecting: 'Connecting audio…',
  live: 'Audio live in this browser',
  reconnecting: 'Audio connection lost; reconnecting…',
  ended: 'Audio ended',
};

export function current() { return leg; }

// join starts playing a browser session's audio.
export async function join(session, onChange, onLevel) {
  if (leg && leg.id === session.id) return leg;
  leave();
  leg = { id: session.id, media: session.media, state: 'connecting', level: 0, onChange, onLevel, mic: null, capture: false };
  changed();
  const ctx = new AudioContext({ sampleRate: 16000, latencyHint: 'interactive' });
  leg.ctx = ctx;
  // The socket opens while the worklet loads: frames before it are dropped.
  connect();
  await ctx.audioWorklet.addModule('/console/leg-worklet.js');
  if (!leg || leg.ctx !== ctx) return null;
  const node = new AudioWorkletNode(ctx, 'earshot-leg', { numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1] });
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  node.connect(analyser);
  analyser.connect(ctx.destination);
  node.port.onmessage = (ev) => {
    if (leg && leg.capture && leg.ws && leg.ws.readyState === WebSocket.OPEN) leg.ws.send(ev.data);
  };
  Object.assign(leg, { node, analyser });
  await ctx.resume().catch(() => {});
  leg.meter = setInterval(meter, 100);
  return leg;
}

function connect() {
  const l = leg;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${l.media}`;
  // A WebSocket cannot carry the Authorization header: the token goes as
  // a second subprotocol, and the server answers with earshot-media only.
  const ws = new WebSocket(url, ['earshot-media', `bearer.${state.token}`]);
  ws.binaryType = 'arraybuffer';
  l.ws = ws;
  ws.onmessage = (ev) => {
    if (!(ev.data instanceof ArrayBuffer) || !l.node) return;
    const pcm = new Int16Array(ev.data);
    const f = new Float32Array(pcm.length);
    for (let i = 0; i < pcm.length; i++) f[i] = pcm[i] / 32768;
    l.node.port.postMessage({ frame: f }, [f.buffer]);
    if (l.state !== 'live') { l.state = 'live'; l.retryUntil = 0; changed(); }
  };
  ws.onclose = (ev) => {
    if (leg !== l || l.ws !== ws) return;
    // 1000: the session ended; 1008: access taken away. Anything else is
    // the connection: retry while the server still keeps the session.
    if (ev.code === 1000 || ev.code === 1008 || l.state === 'ended') { end(); return; }
    const now = Date.now();
    if (!l.retryUntil) l.retryUntil = now + GRACE_MS;
    if (now > l.retryUntil) { end(); return; }
    l.state = 'reconnecting';
    changed();
    setTimeout(() => { if (leg === l && l.state === 'reconnecting') connect(); }, 1000);
  };
}

// setMode sends the microphone in whisper and barge, and asks for it then
// (not before: listening needs no microphone).
export async function setMode(mode) {
  const l = leg;
  if (!l || !l.node) return;
  const talk = mode === 'whisper' || mode === 'barge';
  if (talk && !l.mic) {
    l.mic = navigator.mediaDevices.getUserMedia({
      // Echo cancellation against what the page plays; no noise
      // suppression, which treats a steady voice or tone as noise.
      audio: { echoCancellation: true, noiseSuppression: false, autoGainControl: true, channelCount: 1 },
    }).then((stream) => {
      if (leg !== l) { stream.getTracks().forEach((t) => t.stop()); return null; }
      const src = l.ctx.createMediaStreamSource(stream);
      src.connect(l.node);
      l.stream = stream;
      return stream;
    });
  }
  if (talk) {
    try { await l.mic; } catch (e) { l.mic = null; throw new Error(`The microphone is not available: ${e.message}`); }
  }
  l.capture = talk;
  l.node.port.postMessage({ capture: talk });
}

function meter() {
  if (!leg || !leg.analyser) return;
  const buf = new Float32Array(leg.analyser.fftSize);
  leg.analyser.getFloatTimeDomainData(buf);
  let sum = 0;
  for (const v of buf) sum += v * v;
  const rms = Math.sqrt(sum / buf.length);
  const db = rms > 0 ? 20 * Math.log10(rms) : -100;
  leg.level = Math.max(0, Math.min(1, (db + 60) / 60)); // -60..0 dBFS
  leg.levelDB = db;
  if (leg.onLevel) leg.onLevel(leg.level);
}

function end() {
  if (!leg) return;
  leg.state = 'ended';
  changed();
  teardown(leg);
}

// leave stops the audio (the session itself is hung up through the API).
export function leave() {
  if (!leg) return;
  const l = leg;
  l.state = 'ended';
  teardown(l);
  leg = null;
}

function teardown(l) {
  clearInterval(l.meter);
  if (l.ws) { l.ws.onclose = null; try { l.ws.close(1000); } catch (e) { /* closed */ } }
  if (l.stream) l.stream.getTracks().forEach((t) => t.stop());
  if (l.ctx) l.ctx.close().catch(() => {});
}

function changed() { if (leg && leg.onChange) leg.onChange(leg); }
