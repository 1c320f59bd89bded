import { StoreCipher } from "../../src/store/Cipher.ts"
import { StreamStore } from "../../src/store/StreamStore.ts"
import { contract } from "./StreamStore.contract.ts"
import { tempDir } from "./support.ts"

contract("memory", () => StreamStore.layerMemory)
contract(
  "file (default policy, small segments)",
  () => StreamStore.layerFile({ dir: tempDir(), defaults: { maxSegmentBytes: 256 } })
)
contract(
  "file (encrypted ChaCha20-Poly1305, small segments)",
  () =>
    StreamStore.layerFile({
      dir: tempDir(),
      defaults: { maxSegmentBytes: 256 },
      cipher: new StoreCipher("chacha", "contract key")
    })
)
contract("file (sync always)", () => StreamStore.layerFile({ dir: tempDir(), sync: "always" }))
