import { ENCODING_U16, quantOffsetFor, type FrameHeader } from '../protocol.js';

/**
 * The agents as points, in WebGL2. A frame message's values go to the GPU as they are, in one
 * texture upload (agent-major, so value (agent r, field c) is texel r × cols + c): the vertex
 * shader fetches its agent's x, y and colour fields with that stride. No JavaScript per agent,
 * and any number of fields (a vertex attribute's stride stops at 255 bytes).
 */

/** Texture width in texels: values are laid out in rows of this many. */
const TEX_WIDTH = 4096;

type SamplerKind = 'float' | 'int' | 'uint';

interface Format {
  kind: SamplerKind;
  internal: number;
  format: number;
  type: number;
  array: { new (buffer: ArrayBuffer, byteOffset: number, length: number): ArrayBufferView; BYTES_PER_ELEMENT: number };
}

function formatFor(gl: WebGL2RenderingContext, h: FrameHeader): Format | null {
  const dtype = h.encoding === ENCODING_U16 ? 4 : h.dtype;
  switch (dtype) {
    case 1: return { kind: 'int', internal: gl.R8I, format: gl.RED_INTEGER, type: gl.BYTE, array: Int8Array };
    case 2: return { kind: 'uint', internal: gl.R8UI, format: gl.RED_INTEGER, type: gl.UNSIGNED_BYTE, array: Uint8Array };
    case 3: return { kind: 'int', internal: gl.R16I, format: gl.RED_INTEGER, type: gl.SHORT, array: Int16Array };
    case 4: return { kind: 'uint', internal: gl.R16UI, format: gl.RED_INTEGER, type: gl.UNSIGNED_SHORT, array: Uint16Array };
    case 5: return { kind: 'int', internal: gl.R32I, format: gl.RED_INTEGER, type: gl.INT, array: Int32Array };
    case 6: return { kind: 'uint', internal: gl.R32UI, format: gl.RED_INTEGER, type: gl.UNSIGNED_INT, array: Uint32Array };
    case 9: return { kind: 'float', internal: gl.R32F, format: gl.RED, type: gl.FLOAT, array: Float32Array };
    default: return null;
  }
}

function vertexShader(kind: SamplerKind): string {
  const sampler = kind === 'float' ? 'sampler2D' : kind === 'int' ? 'isampler2D' : 'usampler2D';
  return `#version 300 es
precision highp float;
precision highp int;
precision highp ${sampler};
uniform highp ${sampler} values;
uniform int cols;
uniform ivec3 field;      // x, y, colour columns (colour < 0: none)
uniform vec2 qx, qy, qc;  // value = stored * q.x + q.y (16-bit quantised frames)
uniform vec4 view;        // xmin, xmax, ymin, ymax
uniform vec2 crange;      // colour range
uniform float pointSize;
out float shade;
float fetch(int c) {
  int i = gl_VertexID * cols + c;
  return float(texelFetch(values, ivec2(i % ${TEX_WIDTH}, i / ${TEX_WIDTH}), 0).r);
}
void main() {
  float x = fetch(field.x) * qx.x + qx.y;
  float y = fetch(field.y) * qy.x + qy.y;
  gl_Position = vec4((x - view.x) / (view.y - view.x) * 2.0 - 1.0, (y - view.z) / (view.w - view.z) * 2.0 - 1.0, 0.0, 1.0);
  gl_PointSize = pointSize;
  if (field.z < 0) { shade = -1.0; return; }
  float c = fetch(field.z) * qc.x + qc.y;
  shade = crange.y > crange.x ? clamp((c - crange.x) / (crange.y - crange.x), 0.0, 1.0) : 0.5;
}`;
}

const FRAGMENT = `#version 300 es
precision highp float;
in float shade;
out vec4 color;
vec3 viridis(float t) {
  const vec3 c0 = vec3(0.2777273272234177, 0.005407344544966578, 0.3340998053353061);
  const vec3 c1 = vec3(0.1050930431085774, 1.404613529898575, 1.384590162594685);
  const vec3 c2 = vec3(-0.3308618287255563, 0.214847559468213, 0.09509516302823659);
  const vec3 c3 = vec3(-4.634230498983486, -5.799100973351585, -19.33244095627987);
  const vec3 c4 = vec3(6.228269936347081, 14.17993336680509, 56.69055260068105);
  const vec3 c5 = vec3(4.776384997670288, -13.74514537774601, -65.35303263337234);
  const vec3 c6 = vec3(-5.435455855934631, 4.645852612178535, 26.3124352495832);
  return c0 + t * (c1 + t * (c2 + t * (c3 + t * (c4 + t * (c5 + t * c6)))));
}
void main() {
  color = shade < 0.0 ? vec4(0.45, 0.85, 1.0, 0.85) : vec4(viridis(shade), 0.9);
}`;

export interface Ranges {
  x: [number, number];
  y: [number, number];
  c: [number, number];
}

export class Scatter {
  readonly canvas: HTMLCanvasElement;
  #gl: WebGL2RenderingContext;
  #programs = new Map<SamplerKind, WebGLProgram>();
  #texture: WebGLTexture;
  /** Rows and internal format of the texture's storage. */
  #texSize: [number, number] = [0, 0];
  #header: FrameHeader | null = null;
  #fields: [number, number, number] = [0, 1, -1];
  /** Signalled when the GPU has finished the last draw. */
  #fence: WebGLSync | null = null;

  constructor(canvas: HTMLCanvasElement) {
    this.canvas = canvas;
    // preserveDrawingBuffer: the picture can be read back (tests, screenshots) after it is shown.
    const gl = canvas.getContext('webgl2', { preserveDrawingBuffer: true, antialias: false, premultipliedAlpha: false });
    if (!gl) throw new Error('this browser has no WebGL2');
    this.#gl = gl;
    this.#texture = gl.createTexture()!;
    gl.bindTexture(gl.TEXTURE_2D, this.#texture);
    for (const p of [gl.TEXTURE_MIN_FILTER, gl.TEXTURE_MAG_FILTER]) gl.texParameteri(gl.TEXTURE_2D, p, gl.NEAREST);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
  }

  #program(kind: SamplerKind): WebGLProgram {
    let p = this.#programs.get(kind);
    if (p) return p;
    const gl = this.#gl;
    const shader = (type: number, src: string) => {
      const s = gl.createShader(type)!;
      gl.shaderSource(s, src);
      gl.compileShader(s);
      if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(`shader: ${gl.getShaderInfoLog(s)}`);
      return s;
    };
    p = gl.createProgram()!;
    gl.attachShader(p, shader(gl.VERTEX_SHADER, vertexShader(kind)));
    gl.attachShader(p, shader(gl.FRAGMENT_SHADER, FRAGMENT));
    gl.linkProgram(p);
    if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(`program: ${gl.getProgramInfoLog(p)}`);
    this.#programs.set(kind, p);
    return p;
  }

  /**
   * True while the GPU is still drawing the previous picture. A software GPU (SwiftShader) may
   * take longer per picture than frames take to arrive: uploading more then would block this
   * thread in the upload, and with it the receipt of frames. Skipped pictures cost nothing.
   */
  busy(): boolean {
    const gl = this.#gl;
    if (!this.#fence) return false;
    if (gl.getSyncParameter(this.#fence, gl.SYNC_STATUS) !== gl.SIGNALED) return true;
    gl.deleteSync(this.#fence);
    this.#fence = null;
    return false;
  }

  /** Columns of the message drawn as x, y and colour (-1: one colour). */
  setFields(x: number, y: number, c: number): void {
    this.#fields = [x, y, c];
  }

  /** Upload one frame message's values (one call for whole texture rows, one for the rest). */
  upload(buf: ArrayBuffer, h: FrameHeader): string | null {
    const gl = this.#gl;
    const fmt = formatFor(gl, h);
    if (!fmt) return `values of type ${h.dtype} cannot be drawn`;
    const total = h.rows * h.cols;
    const height = Math.max(1, Math.ceil(total / TEX_WIDTH));
    if (height > gl.getParameter(gl.MAX_TEXTURE_SIZE)) return `${total} values are more than this GPU can hold in one texture`;
    gl.bindTexture(gl.TEXTURE_2D, this.#texture);
    if (this.#texSize[0] !== height || this.#texSize[1] !== fmt.internal) {
      gl.texImage2D(gl.TEXTURE_2D, 0, fmt.internal, TEX_WIDTH, height, 0, fmt.format, fmt.type, null);
      this.#texSize = [height, fmt.internal];
    }
    const whole = Math.floor(total / TEX_WIDTH);
    const data = new fmt.array(buf, h.dataOffset, total);
    if (whole > 0) gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, TEX_WIDTH, whole, fmt.format, fmt.type, data, 0);
    const rest = total - whole * TEX_WIDTH;
    if (rest > 0) gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, whole, rest, 1, fmt.format, fmt.type, data, whole * TEX_WIDTH);
    this.#header = h;
    this.#quant = null;
    if (h.encoding === ENCODING_U16) {
      const table = new DataView(buf, quantOffsetFor(h.cols), h.cols * 8);
      this.#quant = (c: number) => [table.getFloat32(c * 8 + 4, true), table.getFloat32(c * 8, true)];
    }
    return null;
  }

  #quant: ((c: number) => [number, number]) | null = null;

  draw(r: Ranges, pointSize: number): void {
    const gl = this.#gl;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(this.canvas.clientWidth * dpr));
    const h = Math.max(1, Math.round(this.canvas.clientHeight * dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    gl.viewport(0, 0, w, h);
    gl.clearColor(0, 0, 0, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    const head = this.#header;
    if (!head) return;
    const fmt = formatFor(gl, head);
    if (!fmt) return;
    const p = this.#program(fmt.kind);
    gl.useProgram(p);
    const u = (n: string) => gl.getUniformLocation(p, n);
    const q = (c: number): [number, number] => (c < 0 ? [1, 0] : this.#quant ? this.#quant(c) : [1, 0]);
    const [fx, fy, fc] = this.#fields;
    gl.uniform1i(u('values'), 0);
    gl.uniform1i(u('cols'), head.cols);
    gl.uniform3i(u('field'), fx, fy, fc);
    gl.uniform2f(u('qx'), ...q(fx));
    gl.uniform2f(u('qy'), ...q(fy));
    gl.uniform2f(u('qc'), ...q(fc));
    gl.uniform4f(u('view'), r.x[0], r.x[1], r.y[0], r.y[1]);
    gl.uniform2f(u('crange'), r.c[0], r.c[1]);
    gl.uniform1f(u('pointSize'), pointSize * dpr);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.SRC_ALPHA, gl.ONE_MINUS_SRC_ALPHA);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.#texture);
    gl.drawArrays(gl.POINTS, 0, head.rows);
    this.#fence = gl.fenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0);
    gl.flush();
  }
}
