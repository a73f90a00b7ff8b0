// The official ClickHouse JDBC driver against `dids warehouse`, on its default URL and settings: what
// DBeaver, Metabase, Superset's JDBC bridge and Tableau do first. Run by tests/integration/test_warehouse_clients.py
// as `java -cp LIBS/* JdbcCheck.java URL USER PASSWORD MODE` (the password in env DIDS_CHECK_PASSWORD).
// Prints one `key=value` line per fact it read back; the test compares them with what it expects.
// MODE admin: a table of its own (Date, Nullable) written with a prepared batch and read back.
// MODE analyst: what a read-only account does in a tool: connect, metadata, a query, a prepared query.

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.Date;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Properties;

public class JdbcCheck {
    public static void main(String[] args) throws Exception {
        String url = args[0];
        String mode = args[2];
        Properties props = new Properties();
        props.setProperty("user", args[1]);
        props.setProperty("password", System.getenv("DIDS_CHECK_PASSWORD"));
        try (Connection conn = DriverManager.getConnection(url, props)) {
            DatabaseMetaData meta = conn.getMetaData();
            System.out.println("driver=" + meta.getDriverName() + " " + meta.getDriverVersion());
            System.out.println("product=" + meta.getDatabaseProductName());
            System.out.println("catalog_or_schema=" + conn.getSchema());
            int tables = 0;
            StringBuilder names = new StringBuilder();
            try (ResultSet rs = meta.getTables(null, "dids", "%", null)) {
                while (rs.next()) {
                    tables++;
                    names.append(rs.getString("TABLE_NAME")).append(',');
                }
            }
            System.out.println("tables=" + tables);
            System.out.println("table_names=" + names);
            try (Statement st = conn.createStatement();
                    ResultSet rs = st.executeQuery("SELECT sum(number) AS s, count() AS c FROM numbers(1000)")) {
                rs.next();
                System.out.println("query=" + rs.getLong("s") + "/" + rs.getLong("c"));
            }
            try (PreparedStatement ps = conn.prepareStatement("SELECT number * ? FROM numbers(3) ORDER BY number")) {
                ps.setInt(1, 7);
                StringBuilder out = new StringBuilder();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.append(rs.getLong(1)).append(',');
                    }
                }
                System.out.println("prepared=" + out);
            }
            try (Statement st = conn.createStatement();
                    ResultSet rs = st.executeQuery(
                            "SELECT toDate('2024-02-29') AS d, CAST(NULL AS Nullable(Float64)) AS n, "
                                    + "CAST(2.5 AS Nullable(Float64)) AS v")) {
                rs.next();
                Date d = rs.getDate("d");
                double n = rs.getDouble("n");
                boolean nWasNull = rs.wasNull();
                System.out.println("select_date=" + d);
                System.out.println("select_date_class=" + d.getClass().getName());
                System.out.println("select_nullable=" + rs.getObject("n") + "/" + nWasNull + "/" + n + "/"
                        + rs.getObject("v"));
            }
            try (Statement st = conn.createStatement()) {
                st.executeQuery("SELECT * FROM file('/etc/passwd')");
                System.out.println("refused=no");
            } catch (java.sql.SQLException e) {
                System.out.println("refused=" + e.getMessage().replace('\n', ' '));
            }
            if (mode.equals("admin")) {
                admin(conn);
            }
        }
    }

    static void admin(Connection conn) throws Exception {
        String table = "dids.jdbc_check_" + Long.toHexString(System.nanoTime());
        try (Statement st = conn.createStatement()) {
            st.execute("CREATE TABLE " + table
                    + " (id UInt32, day Date, v Nullable(Float64), s Nullable(String)) ENGINE = MergeTree ORDER BY id");
        }
        try {
            try (PreparedStatement ps = conn.prepareStatement("INSERT INTO " + table + " VALUES (?, ?, ?, ?)")) {
                ps.setInt(1, 1);
                ps.setDate(2, Date.valueOf("2024-02-29"));
                ps.setDouble(3, 1.5);
                ps.setString(4, "one");
                ps.addBatch();
                ps.setInt(1, 2);
                ps.setDate(2, Date.valueOf("1999-12-31"));
                ps.setNull(3, java.sql.Types.DOUBLE);
                ps.setNull(4, java.sql.Types.VARCHAR);
                ps.addBatch();
                int[] counts = ps.executeBatch();
                System.out.println("batch=" + counts.length);
            }
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT id, day, v, s FROM " + table + " WHERE day >= ? ORDER BY id")) {
                ps.setDate(1, Date.valueOf("1999-01-01"));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        Date day = rs.getDate("day");
                        Object v = rs.getObject("v");
                        boolean vNull = rs.wasNull();
                        Object s = rs.getObject("s");
                        System.out.println("row=" + rs.getInt("id") + "|" + day + "|" + v + "|" + vNull + "|" + s);
                    }
                }
            }
            ResultSet cols = conn.getMetaData().getColumns(null, "dids", table.substring(5), "%");
            StringBuilder out = new StringBuilder();
            while (cols.next()) {
                out.append(cols.getString("COLUMN_NAME")).append(':').append(cols.getString("TYPE_NAME"))
                        .append(':').append(cols.getInt("NULLABLE")).append(',');
            }
            System.out.println("columns=" + out);
        } finally {
            try (Statement st = conn.createStatement()) {
                st.execute("DROP TABLE " + table);
            }
        }
        System.out.println("done=admin");
    }
}
