// A tiny H.264 (Baseline) encoder that writes pictures uncompressed: every coded macroblock is
// I_PCM (its 16x16 luma and 2x 8x8 chroma samples as bytes), and a later picture sends only the
// macroblocks that changed, the rest P_Skip (copied from the picture before). No transform, no
// prediction search: a few hundred lines any decoder plays, for the simulator's renders.
//
// Pictures are 4:2:0, 8-bit, coded in whole macroblocks; the SPS crops them to the display size.

export interface YuvPicture {
  /** Coded size: whole macroblocks (multiples of 16). */
  width: number;
  height: number;
  /** width x height luma samples, row by row. */
  y: Uint8Array;
  /** (width / 2) x (height / 2) samples each. */
  u: Uint8Array;
  v: Uint8Array;
}

const NAL_SLICE = 1;
const NAL_IDR = 5;
const NAL_SPS = 7;
const NAL_PPS = 8;
/** frame_num runs over 16 bits and wraps (allowed: every picture is a reference). */
const LOG2_MAX_FRAME_NUM = 16;
/** mb_type of I_PCM: 25 in an I slice, 5 + 25 in a P slice (intra types follow the 5 P types). */
const I_PCM_IN_I = 25;
const I_PCM_IN_P = 30;

export class PcmEncoder {
  readonly mbWidth: number;
  readonly mbHeight: number;
  private frameNum = 0;

  /** `width` x `height`: the picture as shown (the coded size rounds it up to macroblocks). */
  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    if (width < 2 || height < 2 || width % 2 !== 0 || height % 2 !== 0)
      throw new RangeError(`a 4:2:0 picture needs even sizes, got ${width}x${height}`);
    this.mbWidth = Math.ceil(width / 16);
    this.mbHeight = Math.ceil(height / 16);
  }

  get codedWidth(): number {
    return this.mbWidth * 16;
  }

  get codedHeight(): number {
    return this.mbHeight * 16;
  }

  /** Sequence parameter set: Constrained Baseline, level 3.0, POC type 2, cropped to the shown size. */
  sps(): Uint8Array {
    const bits = new BitWriter();
    bits.u(8, 66); // profile_idc: Baseline
    bits.u(8, 0xc0); // constraint_set0 and set1: Constrained Baseline
    bits.u(8, 30); // level_idc 3.0
    bits.ue(0); // seq_parameter_set_id
    bits.ue(LOG2_MAX_FRAME_NUM - 4);
    bits.ue(2); // pic_order_cnt_type: order follows frame_num (no B pictures)
    bits.ue(1); // max_num_ref_frames
    bits.u(1, 0); // gaps_in_frame_num_value_allowed_flag
    bits.ue(this.mbWidth - 1);
    bits.ue(this.mbHeight - 1);
    bits.u(1, 1); // frame_mbs_only_flag
    bits.u(1, 1); // direct_8x8_inference_flag
    const cropRight = (this.codedWidth - this.width) / 2;
    const cropBottom = (this.codedHeight - this.height) / 2;
    const crop = cropRight > 0 || cropBottom > 0;
    bits.u(1, crop ? 1 : 0);
    if (crop) {
      bits.ue(0);
      bits.ue(cropRight); // in chroma units: 2 luma columns each
      bits.ue(0);
      bits.ue(cropBottom);
    }
    bits.u(1, 0); // vui_parameters_present_flag
    return nal(3, NAL_SPS, bits.trailing());
  }

  /** Picture parameter set: CAVLC, one slice group, deblocking controllable per slice. */
  pps(): Uint8Array {
    const bits = new BitWriter();
    bits.ue(0); // pic_parameter_set_id
    bits.ue(0); // seq_parameter_set_id
    bits.u(1, 0); // entropy_coding_mode_flag: CAVLC
    bits.u(1, 0); // bottom_field_pic_order_in_frame_present_flag
    bits.ue(0); // num_slice_groups_minus1
    bits.ue(0); // num_ref_idx_l0_default_active_minus1
    bits.ue(0); // num_ref_idx_l1_default_active_minus1
    bits.u(1, 0); // weighted_pred_flag
    bits.u(2, 0); // weighted_bipred_idc
    bits.se(0); // pic_init_qp_minus26
    bits.se(0); // pic_init_qs_minus26
    bits.se(0); // chroma_qp_index_offset
    bits.u(1, 1); // deblocking_filter_control_present_flag
    bits.u(1, 0); // constrained_intra_pred_flag
    bits.u(1, 0); // redundant_pic_cnt_present_flag
    return nal(3, NAL_PPS, bits.trailing());
  }

  /** An IDR picture: every macroblock I_PCM. */
  keyPicture(picture: YuvPicture): Uint8Array {
    this.check(picture);
    this.frameNum = 0;
    const bits = new BitWriter();
    this.sliceHeader(bits, { idr: true });
    for (let mb = 0; mb < this.mbWidth * this.mbHeight; mb++) {
      bits.ue(I_PCM_IN_I);
      this.pcm(bits, picture, mb);
    }
    return nal(3, NAL_IDR, bits.trailing());
  }

  /**
   * A P picture: the listed macroblocks (raster addresses, any order) sent I_PCM from `picture`,
   * every other one skipped (the picture before, unchanged).
   */
  deltaPicture(picture: YuvPicture, changed: Iterable<number>): Uint8Array {
    this.check(picture);
    this.frameNum = (this.frameNum + 1) % 2 ** LOG2_MAX_FRAME_NUM;
    const total = this.mbWidth * this.mbHeight;
    const coded = [...new Set(changed)].filter((mb) => mb >= 0 && mb < total).toSorted((a, b) => a - b);
    const bits = new BitWriter();
    this.sliceHeader(bits, { idr: false });
    let next = 0;
    for (const mb of coded) {
      bits.ue(mb - next); // mb_skip_run
      bits.ue(I_PCM_IN_P);
      this.pcm(bits, picture, mb);
      next = mb + 1;
    }
    if (next < total) bits.ue(total - next);
    return nal(2, NAL_SLICE, bits.trailing());
  }

  private sliceHeader(bits: BitWriter, { idr }: { idr: boolean }): void {
    bits.ue(0); // first_mb_in_slice
    bits.ue(idr ? 7 : 5); // slice_type: I or P, the same for every slice of the picture
    bits.ue(0); // pic_parameter_set_id
    bits.u(LOG2_MAX_FRAME_NUM, this.frameNum);
    if (idr) bits.ue(0); // idr_pic_id
    if (!idr) {
      bits.u(1, 0); // num_ref_idx_active_override_flag
      bits.u(1, 0); // ref_pic_list_modification_flag_l0
    }
    // dec_ref_pic_marking (every picture is a reference)
    if (idr) {
      bits.u(1, 0); // no_output_of_prior_pics_flag
      bits.u(1, 0); // long_term_reference_flag
    } else {
      bits.u(1, 0); // adaptive_ref_pic_marking_mode_flag: sliding window
    }
    bits.se(0); // slice_qp_delta
    bits.ue(1); // disable_deblocking_filter_idc: the samples are exact, nothing to smooth
  }

  /** pcm_alignment_zero_bits, then the macroblock's samples: 256 luma, 64 Cb, 64 Cr. */
  private pcm(bits: BitWriter, picture: YuvPicture, mb: number): void {
    bits.align();
    const x = (mb % this.mbWidth) * 16;
    const y = Math.floor(mb / this.mbWidth) * 16;
    for (let row = 0; row < 16; row++) {
      const at = (y + row) * picture.width + x;
      bits.bytes(picture.y.subarray(at, at + 16));
    }
    const chromaWidth = picture.width / 2;
    for (const plane of [picture.u, picture.v])
      for (let row = 0; row < 8; row++) {
        const at = (y / 2 + row) * chromaWidth + x / 2;
        bits.bytes(plane.subarray(at, at + 8));
      }
  }

  private check(picture: YuvPicture): void {
    if (picture.width !== this.codedWidth || picture.height !== this.codedHeight)
      throw new RangeError(
        `picture is ${picture.width}x${picture.height}, the coded size is ${this.codedWidth}x${this.codedHeight}`,
      );
  }
}

/** A NAL unit (no start code): its header byte, then the payload with emulation prevention. */
function nal(refIdc: number, type: number, rbsp: Uint8Array): Uint8Array {
  // At most one escape byte per two payload bytes.
  const out = new Uint8Array(1 + rbsp.length + Math.ceil(rbsp.length / 2));
  out[0] = (refIdc << 5) | type;
  let length = 1;
  let zeros = 0;
  for (const byte of rbsp) {
    // 00 00 followed by 00-03 would read as a start code (or its escape): an 03 goes between.
    if (zeros >= 2 && byte <= 3) {
      out[length++] = 3;
      zeros = 0;
    }
    out[length++] = byte;
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return out.slice(0, length);
}

/** Bits, most significant first, with H.264's Exp-Golomb codes. */
export class BitWriter {
  /** The whole bytes so far: out[0, length). */
  private out = new Uint8Array(256);
  private length = 0;
  private current = 0;
  private used = 0;

  u(count: number, value: number): void {
    for (let bit = count - 1; bit >= 0; bit--) this.bit(Math.floor(value / 2 ** bit) % 2);
  }

  /** Unsigned Exp-Golomb: value + 1 in binary, after as many zeros as it has bits less one. */
  ue(value: number): void {
    const code = value + 1;
    const length = Math.floor(Math.log2(code));
    this.u(length, 0);
    this.u(length + 1, code);
  }

  /** Signed Exp-Golomb: 1, -1, 2, -2, ... as 1, 2, 3, 4, ... */
  se(value: number): void {
    this.ue(value > 0 ? 2 * value - 1 : -2 * value);
  }

  /** Zero bits up to the next byte. */
  align(): void {
    while (this.used !== 0) this.bit(0);
  }

  /** Whole bytes (the writer must be aligned). */
  bytes(values: Uint8Array): void {
    if (this.used !== 0) throw new Error("bytes written off a byte boundary");
    this.reserve(values.length);
    this.out.set(values, this.length);
    this.length += values.length;
  }

  /** rbsp_trailing_bits (a one, then zeros to the byte), and the bytes so far. */
  trailing(): Uint8Array {
    this.bit(1);
    this.align();
    return this.out.slice(0, this.length);
  }

  private reserve(count: number): void {
    if (this.length + count <= this.out.length) return;
    const grown = new Uint8Array(Math.max(this.out.length * 2, this.length + count));
    grown.set(this.out.subarray(0, this.length));
    this.out = grown;
  }

  private bit(value: number): void {
    this.current = (this.current << 1) | value;
    if (++this.used === 8) {
      this.reserve(1);
      this.out[this.length++] = this.current;
      this.current = 0;
      this.used = 0;
    }
  }
}
