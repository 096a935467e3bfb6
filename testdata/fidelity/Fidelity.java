import java.nio.file.Files;
import java.nio.file.Path;

// The JVM's view of LANG=C.UTF-8: every encoding property UTF-8, and a
// file with a non-ASCII name created and listed back.
public class Fidelity {
    public static void main(String[] args) throws Exception {
        boolean failed = false;
        for (String p : new String[] {"file.encoding", "sun.jnu.encoding", "native.encoding"}) {
            String v = System.getProperty(p);
            boolean ok = "UTF-8".equals(v);
            failed |= !ok;
            System.out.println((ok ? "ok   " : "FAIL ") + p + " = " + v);
        }
        String name = "h\u00e9llo-\u65e5\u672c-\u20ac.txt";
        Path dir = Files.createTempDirectory("fidelity");
        Path f = Files.createFile(dir.resolve(name));
        Files.writeString(f, name);
        boolean listed;
        try (var s = Files.list(dir)) {
            listed = s.anyMatch(x -> x.getFileName().toString().equals(name));
        }
        failed |= !listed;
        System.out.println((listed ? "ok   " : "FAIL ") + "created and listed " + f);
        if (!failed) System.out.println("ALL OK");
        System.exit(failed ? 1 : 0);
    }
}
