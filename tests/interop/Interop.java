// Java side of the interoperability tests (tests/interop.rs). Run as a single-file program:
//   java tests/interop/Interop.java < requests
// Each request line is one of
//   enc <scheme> <publicKey: base64 SPKI DER> <publicKeyId> <identityId: hex of UTF-8> <password: hex of UTF-8>
//   dec <scheme> <private key: base64 PKCS#8 DER> <publicKeyId> <identityId: hex of UTF-8> <encryptedPassword: base64>
// where <scheme> is pkcs1v15, oaep-sha256, oaep-sha256-bound (the crate's names) or
// oaep-java-default (OAEP-SHA256 without an OAEPParameterSpec: the mistake the docs warn about).
// Each answer line is the base64 ciphertext, the hex plaintext, or "ERR <exception>".
//
// The publicKeyId is taken from the request, as a client takes it from "query password
// info", but first checked against this program's own RFC 7638 thumbprint of the key; the
// label of oaep-sha256-bound is built here from the documented recipe, not received.
//
// The PKCS#1 v1.5 encryption is the seed's code, unchanged but for `java.util` (the seed's
// `import java util.Base64;` is a typo) and the `static` modifiers a single-file program needs.

import javax.crypto.Cipher;
import java.math.BigInteger;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.RSAPrivateCrtKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;

public class Interop {
    // ---- the seed's recipe (002_*, "Set Identity's Password") ----
    static String encrypt(String publicKey, String toEncrypt) throws Exception {
        byte[] publicKeyBytes = Base64.getDecoder().decode(publicKey);
        byte[] encryptedBytes = encryptRsa(publicKeyBytes, toEncrypt.getBytes("UTF-8"));
        return Base64.getEncoder().encodeToString(encryptedBytes);
    }

    private static byte[] encryptRsa(byte[] publicKeyBytes, byte[] toEncryptBytes) throws Exception {
        PublicKey key = KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(publicKeyBytes));
        String transformation = "RSA/ECB/PKCS1Padding";
        Cipher cipher = Cipher.getInstance(transformation);
        cipher.init(1, key);
        return cipher.doFinal(toEncryptBytes);
    }
    // ---- end of the seed's recipe ----

    /** The request's publicKeyId is not the key's RFC 7638 thumbprint. */
    static class KeyIdMismatch extends Exception {
        KeyIdMismatch(String message) {
            super(message);
        }
    }

    static final String OAEP = "RSA/ECB/OAEPWithSHA-256AndMGF1Padding";
    static final byte[] LABEL_TAG = "password-mgmt/v1 oaep-label\0".getBytes(StandardCharsets.UTF_8);

    // OAEP as the crate's docs tell Java users to write it: SHA-256 for the label hash and,
    // through the parameter spec, for MGF1 too; the bound scheme's label in the PSource.
    static OAEPParameterSpec oaepSpec(byte[] label) {
        PSource source = label == null ? PSource.PSpecified.DEFAULT : new PSource.PSpecified(label);
        return new OAEPParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, source);
    }

    // The label of oaep-sha256-bound: tag, publicKeyId (43 base64url characters), identityId.
    static byte[] boundLabel(String publicKeyId, String identityId) throws Exception {
        ByteArrayOutputStream label = new ByteArrayOutputStream();
        label.write(LABEL_TAG);
        label.write(publicKeyId.getBytes(StandardCharsets.US_ASCII));
        label.write(identityId.getBytes(StandardCharsets.UTF_8));
        return label.toByteArray();
    }

    static byte[] unsigned(BigInteger value) {
        byte[] bytes = value.toByteArray();
        return bytes.length > 1 && bytes[0] == 0 ? Arrays.copyOfRange(bytes, 1, bytes.length) : bytes;
    }

    // RFC 7638: SHA-256 of {"e":"…","kty":"RSA","n":"…"}, in base64url without padding.
    static String thumbprint(BigInteger n, BigInteger e) throws Exception {
        Base64.Encoder b64u = Base64.getUrlEncoder().withoutPadding();
        String jwk = "{\"e\":\"" + b64u.encodeToString(unsigned(e)) + "\",\"kty\":\"RSA\",\"n\":\""
            + b64u.encodeToString(unsigned(n)) + "\"}";
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(jwk.getBytes(StandardCharsets.UTF_8));
        return b64u.encodeToString(digest);
    }

    static void checkKeyId(String publicKeyId, BigInteger n, BigInteger e) throws Exception {
        String own = thumbprint(n, e);
        if (!own.equals(publicKeyId)) {
            throw new KeyIdMismatch(own + " != " + publicKeyId);
        }
    }

    static String encryptWith(String scheme, String publicKey, String publicKeyId, String identityId,
            String password) throws Exception {
        RSAPublicKey key = (RSAPublicKey) KeyFactory.getInstance("RSA")
            .generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(publicKey)));
        checkKeyId(publicKeyId, key.getModulus(), key.getPublicExponent());
        Cipher cipher = Cipher.getInstance(OAEP);
        switch (scheme) {
            case "pkcs1v15" -> {
                return encrypt(publicKey, password);
            }
            case "oaep-sha256" -> cipher.init(Cipher.ENCRYPT_MODE, key, oaepSpec(null));
            case "oaep-sha256-bound" ->
                cipher.init(Cipher.ENCRYPT_MODE, key, oaepSpec(boundLabel(publicKeyId, identityId)));
            // Without the spec Java uses SHA-1 for MGF1.
            case "oaep-java-default" -> cipher.init(Cipher.ENCRYPT_MODE, key);
            default -> throw new IllegalArgumentException("unknown scheme " + scheme);
        }
        byte[] ciphertext = cipher.doFinal(password.getBytes(StandardCharsets.UTF_8));
        return Base64.getEncoder().encodeToString(ciphertext);
    }

    static byte[] decryptWith(String scheme, String privateKey, String publicKeyId, String identityId,
            String encrypted) throws Exception {
        PrivateKey key = KeyFactory.getInstance("RSA")
            .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(privateKey)));
        RSAPrivateCrtKey crt = (RSAPrivateCrtKey) key;
        checkKeyId(publicKeyId, crt.getModulus(), crt.getPublicExponent());
        Cipher cipher;
        switch (scheme) {
            case "pkcs1v15" -> {
                cipher = Cipher.getInstance("RSA/ECB/PKCS1Padding");
                cipher.init(Cipher.DECRYPT_MODE, key);
            }
            case "oaep-sha256" -> {
                cipher = Cipher.getInstance(OAEP);
                cipher.init(Cipher.DECRYPT_MODE, key, oaepSpec(null));
            }
            case "oaep-sha256-bound" -> {
                cipher = Cipher.getInstance(OAEP);
                cipher.init(Cipher.DECRYPT_MODE, key, oaepSpec(boundLabel(publicKeyId, identityId)));
            }
            default -> throw new IllegalArgumentException("unknown scheme " + scheme);
        }
        return cipher.doFinal(Base64.getDecoder().decode(encrypted));
    }

    static String utf8(String hex) {
        return new String(HexFormat.of().parseHex(hex), StandardCharsets.UTF_8);
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.split(" ");
            try {
                if (f.length != 6) {
                    throw new IllegalArgumentException("expected 6 fields, got " + f.length);
                }
                if (f[0].equals("enc")) {
                    System.out.println(encryptWith(f[1], f[2], f[3], utf8(f[4]), utf8(f[5])));
                } else {
                    System.out.println(HexFormat.of().formatHex(decryptWith(f[1], f[2], f[3], utf8(f[4]), f[5])));
                }
            } catch (Exception e) {
                System.out.println("ERR " + e.getClass().getName());
            }
        }
    }
}
