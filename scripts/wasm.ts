// WebAssembly text -> binary with wabt (a development dependency; the binary is committed).
import wabtInit from "wabt";

export async function assembleWat(text: string): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat("adamw.wat", text, { simd: true });
  try {
    mod.validate();
    return mod.toBinary({}).buffer;
  } finally {
    mod.destroy();
  }
}
