// The check run in the java images (runtimes_integration_test.go): built
// with the host's JDK (javac --release 17) into a jar that the image's
// entrypoint, java -jar, runs. It prints what it found, one fact a line,
// and "ALL OK" last; any failure throws, so java exits non-zero.

import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

public class Check {
    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError("check failed: " + what);
        }
    }

    public static void main(String[] args) throws Exception {
        String version = System.getProperty("java.version");
        System.out.println("java.version " + version);
        System.out.println("java.home " + System.getProperty("java.home"));
        String want = System.getenv("WANT_JAVA_FEATURE");
        if (want != null) {
            check(Runtime.version().feature() == Integer.parseInt(want),
                "feature version " + Runtime.version().feature() + ", want " + want);
        }
        String user = System.getProperty("user.name");
        System.out.println("user.name " + user);

        // The default trust store: lib/security/cacerts, a link to
        // /etc/ssl/certs/java/cacerts, read the way JSSE reads it.
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init((KeyStore) null);
        int trusted = 0;
        for (TrustManager tm : tmf.getTrustManagers()) {
            if (tm instanceof X509TrustManager) {
                trusted += ((X509TrustManager) tm).getAcceptedIssuers().length;
            }
        }
        System.out.println("trusted certificates " + trusted);
        check(trusted > 100, "more than 100 trusted certificates, got " + trusted);
        SSLContext.getDefault().createSSLEngine();

        // Applications that name the store's password ("changeit") read it
        // too, and so do those that give none.
        Path store = Path.of(System.getProperty("java.home"), "lib", "security", "cacerts");
        System.out.println("cacerts " + store.toRealPath());
        check(store.toRealPath().equals(Path.of("/etc/ssl/certs/java/cacerts")), "cacerts links to /etc/ssl/certs/java/cacerts");
        for (String pw : new String[] {"changeit", null}) {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            try (InputStream in = new FileInputStream(store.toFile())) {
                ks.load(in, pw == null ? null : pw.toCharArray());
            }
            check(ks.size() == trusted, "keystore (password " + pw + ") has " + ks.size() + " entries, want " + trusted);
            System.out.println("keystore " + KeyStore.getDefaultType() + " password " + pw + ": " + ks.size() + " entries");
        }

        // Time zones (the JRE's tzdb.dat) and French locale data.
        ZonedDateTime winter = ZonedDateTime.of(2024, 1, 15, 12, 0, 0, 0, ZoneId.of("Europe/Paris"));
        ZonedDateTime summer = ZonedDateTime.of(2024, 7, 15, 12, 0, 0, 0, ZoneId.of("Europe/Paris"));
        DateTimeFormatter fmt = DateTimeFormatter.ofPattern("EEEE d MMMM yyyy HH:mm xxx", Locale.FRANCE);
        String w = fmt.format(winter), s = fmt.format(summer);
        System.out.println("Europe/Paris " + w + " / " + s);
        check(w.equals("lundi 15 janvier 2024 12:00 +01:00"), "winter date " + w);
        check(s.equals("lundi 15 juillet 2024 12:00 +02:00"), "summer date " + s);

        // zlib, SHA-256, a file in /tmp.
        byte[] text = "distroless java check\n".repeat(100).getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write(text);
        }
        byte[] back = new GZIPInputStream(new java.io.ByteArrayInputStream(gz.toByteArray())).readAllBytes();
        check(java.util.Arrays.equals(back, text) && gz.size() < text.length / 4, "gzip round trip");
        byte[] sum = MessageDigest.getInstance("SHA-256").digest("abc".getBytes(StandardCharsets.UTF_8));
        check(String.format("%064x", new java.math.BigInteger(1, sum))
            .equals("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "sha256");
        Path tmp = Files.createTempFile("check", ".txt");
        Files.write(tmp, text);
        check(Files.readAllBytes(tmp).length == text.length, "temp file");
        Files.delete(tmp);
        System.out.println("zlib, sha256, " + tmp.getParent() + " ok");

        // Headless text rendering: fontconfig finds a font, FreeType and
        // HarfBuzz (libfontmanager) draw it.
        BufferedImage img = new BufferedImage(200, 50, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 24));
        g.drawString("Distroless é", 5, 35);
        String family = g.getFontMetrics().getFont().getFontName();
        int width = g.getFontMetrics().stringWidth("Distroless é");
        g.dispose();
        int lit = 0;
        for (int x = 0; x < 200; x++) {
            for (int y = 0; y < 50; y++) {
                if ((img.getRGB(x, y) & 0xffffff) != 0) {
                    lit++;
                }
            }
        }
        System.out.println("font " + family + ", text width " + width + ", " + lit + " pixels drawn");
        check(width > 50 && lit > 100, "text was drawn");

        System.out.println("ALL OK");
    }
}
