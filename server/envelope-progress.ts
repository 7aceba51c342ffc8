/**
 * Where a stream of enveloped messages (gRPC's 5-byte header, flags and
 * length, then the message) stands as its bytes come: inside a message or
 * between two. Only the lengths are read; flags and contents are not judged.
 */
export class EnvelopeProgress {
  /** Bytes of the message being read so far, its header included; 0 between messages. */
  inMessage = 0;
  /** Messages read to their end. */
  complete = 0;
  /** Of the envelope being read: header bytes seen (0 to 5), its length, payload bytes still to come. */
  #headerSeen = 0;
  #length = 0;
  #remaining = 0;

  /** Takes in the next bytes of the stream; `ended` is called as each message ends in them. */
  feed(chunk: Uint8Array, ended?: () => void): void {
    for (let i = 0; i < chunk.length; ) {
      if (this.#headerSeen < 5) {
        // The first byte is the envelope's flags, the next four its length.
        if (this.#headerSeen > 0) this.#length = this.#length * 256 + chunk[i];
        this.#headerSeen++;
        this.inMessage++;
        i++;
        if (this.#headerSeen === 5) this.#remaining = this.#length;
      } else {
        const taken = Math.min(this.#remaining, chunk.length - i);
        this.#remaining -= taken;
        this.inMessage += taken;
        i += taken;
      }
      if (this.#headerSeen === 5 && this.#remaining === 0) {
        this.#headerSeen = 0;
        this.#length = 0;
        this.inMessage = 0;
        this.complete++;
        ended?.();
      }
    }
  }
}
