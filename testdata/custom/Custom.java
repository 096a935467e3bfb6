import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.ZoneId;

// The custom-image checks in java21: HttpClient with the default trust
// store (args[0] the URL), user.home, and a legacy zone name.
public class Custom {
    public static void main(String[] args) throws Exception {
        System.out.println("user.home=" + System.getProperty("user.home"));
        System.out.println("user.name=" + System.getProperty("user.name"));
        System.out.println("zone=" + ZoneId.of("US/Eastern").normalized());
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(args[0])).build(), HttpResponse.BodyHandlers.ofString());
            System.out.println("ok   java: " + r.body());
        } catch (Exception e) {
            System.out.println("FAIL java: " + e);
            System.exit(1);
        }
    }
}
