// DynamoDB Local on 127.0.0.1 only. Its own launcher binds every interface
// (Jetty's Server(port)) and has no host option, so this builds the same
// server from the same command line and points its connectors at loopback
// before starting it. Run as a single-file source program (Java 11+):
//   java -Djava.library.path=<lib> -cp "<jar>:<lib>/*" LoopbackDynamoDBLocal.java -port N ...
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public class LoopbackDynamoDBLocal {
    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field field = DynamoDBProxyServer.class.getDeclaredField("server");
        field.setAccessible(true);
        Server server = (Server) field.get(proxy);
        for (Connector connector : server.getConnectors()) {
            if (connector instanceof ServerConnector) {
                ((ServerConnector) connector).setHost("127.0.0.1");
            }
        }
        proxy.start();
        proxy.join();
    }
}
