import { BrowserRouter, Navigate, Route, Routes } from "react-router";
import { AuthProvider, useAuth } from "./auth/AuthContext";
import { RequireAuth } from "./auth/RequireAuth";
import { Loading } from "./components/Alerts";
import { Layout } from "./components/Layout";
import { AccountPage } from "./pages/AccountPage";
import { CheckEmailPage } from "./pages/CheckEmailPage";
import { ConfirmPage } from "./pages/ConfirmPage";
import { DigestDetailPage } from "./pages/DigestDetailPage";
import { ForgotPasswordPage } from "./pages/ForgotPasswordPage";
import { HistoryPage } from "./pages/HistoryPage";
import { LoginPage } from "./pages/LoginPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { PreviewPage } from "./pages/PreviewPage";
import { ResetPasswordPage } from "./pages/ResetPasswordPage";
import { SchedulePage } from "./pages/SchedulePage";
import { SignupPage } from "./pages/SignupPage";
import { WatchlistPage } from "./pages/WatchlistPage";
import { DigestRunPage } from "./pages/operations/DigestRunPage";
import { DigestRunsPage } from "./pages/operations/DigestRunsPage";
import { EtlRunPage } from "./pages/operations/EtlRunPage";
import { EtlRunsPage } from "./pages/operations/EtlRunsPage";
import { OperationsLayout } from "./pages/operations/OperationsLayout";
import { OverviewPage } from "./pages/operations/OverviewPage";
import { SuppressionsPage } from "./pages/operations/SuppressionsPage";

/** `/`: the watchlist when logged in, else the login page. */
function Home() {
  const { state } = useAuth();
  if (state.status === "loading") return <Loading />;
  return <Navigate to={state.status === "authenticated" ? "/watchlist" : "/login"} replace />;
}

/** Every screen of the app (without the router, so tests can pick one). */
export function AppRoutes() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<Home />} />
        <Route path="signup" element={<SignupPage />} />
        <Route path="check-email" element={<CheckEmailPage />} />
        <Route path="confirm" element={<ConfirmPage />} />
        <Route path="login" element={<LoginPage />} />
        <Route path="forgot-password" element={<ForgotPasswordPage />} />
        <Route path="reset-password" element={<ResetPasswordPage />} />
        <Route element={<RequireAuth />}>
          <Route path="watchlist" element={<WatchlistPage />} />
          <Route path="schedule" element={<SchedulePage />} />
          <Route path="preview" element={<PreviewPage />} />
          <Route path="history" element={<HistoryPage />} />
          <Route path="history/:id" element={<DigestDetailPage />} />
          <Route path="account" element={<AccountPage />} />
          <Route path="operations" element={<OperationsLayout />}>
            <Route index element={<OverviewPage />} />
            <Route path="digest-runs" element={<DigestRunsPage />} />
            <Route path="digest-runs/:id" element={<DigestRunPage />} />
            <Route path="etl-runs" element={<EtlRunsPage />} />
            <Route path="etl-runs/:id" element={<EtlRunPage />} />
            <Route path="suppressions" element={<SuppressionsPage />} />
          </Route>
        </Route>
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}

export function App() {
  return (
    <BrowserRouter>
      <AuthProvider>
        <AppRoutes />
      </AuthProvider>
    </BrowserRouter>
  );
}
