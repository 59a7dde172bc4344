/** The part of @ewsjs/ntlm-client (which ships no types) that src/net/proxy-auth/ntlm.ts uses. */
declare module '@ewsjs/ntlm-client' {
  namespace ntlm {
    interface Type2Message {
      flags: number;
      encoding: 'ascii' | 'ucs2';
      version: 1 | 2;
      challenge: Buffer;
      targetName: string;
      /** Present when the type 2 message carries a target info block (required for NTLMv2). */
      targetInfo?: { buffer: Buffer };
    }
  }
  const ntlm: {
    /** `NTLM <base64 type 1>` */
    createType1Message(workstation?: string, target?: string): string;
    /** Accepts `NTLM <base64>` or the bare base64 type 2 message; throws when malformed. */
    decodeType2Message(str: string): ntlm.Type2Message;
    /** `NTLM <base64 type 3>` */
    createType3Message(type2: ntlm.Type2Message, username: string, password: string, workstation?: string, target?: string): string;
  };
  export default ntlm;
}
