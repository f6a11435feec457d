// Audible alerts with WebAudio: no sound files. Browsers only let a page
// make sound after a user gesture, so the sign-in click (or a click on the
// sound chip) unlocks it; until then `blocked` is true and the header says so.

const MUTE_KEY = 'huxiao.muted';

class Sound {
  constructor() {
    this.ctx = null;
    this.muted = localStorage.getItem(MUTE_KEY) === '1';
    this.listeners = new Set();
  }

  get blocked() {
    return !this.ctx || this.ctx.state !== 'running';
  }

  onChange(fn) {
    this.listeners.add(fn);
  }

  changed() {
    for (const fn of this.listeners) fn();
  }

  // Call from a user gesture.
  unlock() {
    try {
      if (!this.ctx) {
        const Ctx = window.AudioContext || window.webkitAudioContext;
        if (!Ctx) return;
        this.ctx = new Ctx();
        this.ctx.onstatechange = () => this.changed();
      }
      if (this.ctx.state === 'suspended') this.ctx.resume().then(() => this.changed(), () => {});
    } catch {
      /* no audio device: stay silent */
    }
    this.changed();
  }

  setMuted(muted) {
    this.muted = muted;
    localStorage.setItem(MUTE_KEY, muted ? '1' : '0');
    this.changed();
  }

  tone(freq, start, duration, { type = 'square', gain = 0.18 } = {}) {
    const ctx = this.ctx;
    const osc = ctx.createOscillator();
    const amp = ctx.createGain();
    osc.type = type;
    osc.frequency.setValueAtTime(freq, start);
    amp.gain.setValueAtTime(0.0001, start);
    amp.gain.exponentialRampToValueAtTime(gain, start + 0.015);
    amp.gain.setValueAtTime(gain, start + duration - 0.03);
    amp.gain.exponentialRampToValueAtTime(0.0001, start + duration);
    osc.connect(amp).connect(ctx.destination);
    osc.start(start);
    osc.stop(start + duration + 0.02);
  }

  // A new real alarm: three rising two-tone pulses. A drill: one soft tone.
  alarm({ drill = false } = {}) {
    if (this.muted || this.blocked) return false;
    const t = this.ctx.currentTime + 0.02;
    if (drill) {
      this.tone(660, t, 0.35, { type: 'sine', gain: 0.12 });
      return true;
    }
    for (let i = 0; i < 3; i += 1) {
      this.tone(880, t + i * 0.42, 0.18);
      this.tone(1320, t + i * 0.42 + 0.19, 0.18);
    }
    return true;
  }

  // A short reminder while an alarm waits for acknowledgement.
  reminder() {
    if (this.muted || this.blocked) return false;
    const t = this.ctx.currentTime + 0.02;
    this.tone(988, t, 0.14);
    this.tone(988, t + 0.2, 0.14);
    return true;
  }

  // Something needs attention but is not an alarm (terminal offline, error).
  notice() {
    if (this.muted || this.blocked) return false;
    this.tone(440, this.ctx.currentTime + 0.02, 0.25, { type: 'sine', gain: 0.1 });
    return true;
  }
}

export const sound = new Sound();
