// Java side of the interoperability tests (tests/interop.rs). Run as a single-file program:
//   java tests/interop/Interop.java < requests
// Each request line is one of
//   enc pkcs1|oaep|oaep-java-default <publicKey: base64 SPKI DER> <password: hex of UTF-8>
//   dec pkcs1|oaep <private key: base64 PKCS#8 DER> <encryptedPassword: base64>
// and each answer line is the base64 ciphertext, the hex plaintext, or "ERR <exception>".
// The PKCS#1 v1.5 encryption is the seed's code, unchanged but for `java.util` (the seed's
// `import java util.Base64;` is a typo) and the `static` modifiers a single-file program needs.

import javax.crypto.Cipher;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;
import java.io.BufferedReader;
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

    // OAEP as the crate's docs tell Java users to write it: SHA-256 for the label hash and,
    // through the parameter spec, for MGF1 too.
    static final String OAEP = "RSA/ECB/OAEPWithSHA-256AndMGF1Padding";
    static final OAEPParameterSpec OAEP_SHA256 = new OAEPParameterSpec(
        "SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT);

    // `withSpec` false is the mistake the docs warn about: Java then uses SHA-1 for MGF1.
    static String encryptOaep(String publicKey, String toEncrypt, boolean withSpec) throws Exception {
        PublicKey key = KeyFactory.getInstance("RSA")
            .generatePublic(new X509EncodedKeySpec(Base64.getDecoder().decode(publicKey)));
        Cipher cipher = Cipher.getInstance(OAEP);
        if (withSpec) {
            cipher.init(Cipher.ENCRYPT_MODE, key, OAEP_SHA256);
        } else {
            cipher.init(Cipher.ENCRYPT_MODE, key);
        }
        return Base64.getEncoder().encodeToString(cipher.doFinal(toEncrypt.getBytes(StandardCharsets.UTF_8)));
    }

    static byte[] decrypt(String scheme, String privateKey, String encrypted) throws Exception {
        PrivateKey key = KeyFactory.getInstance("RSA")
            .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(privateKey)));
        Cipher cipher;
        if (scheme.equals("pkcs1")) {
            cipher = Cipher.getInstance("RSA/ECB/PKCS1Padding");
            cipher.init(Cipher.DECRYPT_MODE, key);
        } else {
            cipher = Cipher.getInstance(OAEP);
            cipher.init(Cipher.DECRYPT_MODE, key, OAEP_SHA256);
        }
        return cipher.doFinal(Base64.getDecoder().decode(encrypted));
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            String[] f = line.split(" ");
            try {
                if (f[0].equals("enc")) {
                    String password = new String(HexFormat.of().parseHex(f[3]), StandardCharsets.UTF_8);
                    String out = switch (f[1]) {
                        case "pkcs1" -> encrypt(f[2], password);
                        case "oaep" -> encryptOaep(f[2], password, true);
                        default -> encryptOaep(f[2], password, false);
                    };
                    System.out.println(out);
                } else {
                    System.out.println(HexFormat.of().formatHex(decrypt(f[1], f[2], f[3])));
                }
            } catch (Exception e) {
                System.out.println("ERR " + e.getClass().getName());
            }
        }
    }
}
