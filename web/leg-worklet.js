// The audio worklet of a browser supervising leg (leg.mjs): it plays the
// call's 20 ms frames through a small jitter buffer and cuts the
// microphone into 20 ms frames. The context runs at 16 kHz, the rate of
// the media link (slin16), so nothing here resamples.
const FRAME = 320; // samples in 20 ms at 16 kHz
const PREBUFFER = 3; // frames held before playing starts: 60 ms of jitter
const MAX_QUEUE = 10; // frames past which the oldest are dropped: latency stays under 200 ms

class LegProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = [];
    this.head = null;
    this.pos = 0;
    this.playing = false;
    this.capture = false;
    this.mic = new Float32Array(FRAME);
    this.micLen = 0;
    this.port.onmessage = (ev) => {
      const d = ev.data;
      if (d.frame) {
        this.queue.push(d.frame);
        while (this.queue.length > MAX_QUEUE) this.queue.shift();
      } else if ('capture' in d) {
        this.capture = d.capture;
        this.micLen = 0;
      }
    };
  }

  process(inputs, outputs) {
    const out = outputs[0][0];
    if (!this.playing && this.queue.length >= PREBUFFER) this.playing = true;
    for (let i = 0; i < out.length; i++) {
      if (!this.head || this.pos >= this.head.length) {
        this.head = this.playing ? this.queue.shift() : null;
        this.pos = 0;
        if (!this.head) { this.playing = false; out[i] = 0; continue; }
      }
      out[i] = this.head[this.pos++];
    }
    const input = inputs[0] && inputs[0][0];
    if (this.capture && input) {
      for (let i = 0; i < input.length; i++) {
        this.mic[this.micLen++] = input[i];
        if (this.micLen === FRAME) {
          const pcm = new Int16Array(FRAME);
          for (let j = 0; j < FRAME; j++) pcm[j] = Math.max(-32768, Math.min(32767, Math.round(this.mic[j] * 32767)));
          this.port.postMessage(pcm.buffer, [pcm.buffer]);
          this.micLen = 0;
        }
      }
    }
    return true;
  }
}

registerProcessor('earshot-leg', LegProcessor);
